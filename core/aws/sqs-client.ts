import { SQSClient } from '@aws-sdk/client-sqs';
import { EMULATOR_CREDENTIALS, SDK_MAX_ATTEMPTS, type ClientOptions } from './client-options.ts';
import { meterSqs } from './request-meter.ts';

export function createSqsClient(options: ClientOptions = {}): SQSClient {
  const client = new SQSClient({
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    maxAttempts: options.maxAttempts ?? SDK_MAX_ATTEMPTS,
    // fauxqs and LocalStack hand out queue URLs on hosts that need not resolve: the endpoint must win.
    ...(options.endpoint ? { endpoint: options.endpoint, credentials: EMULATOR_CREDENTIALS } : {}),
  });
  if (options.meter) meterSqs(client, options.meter);
  return client;
}
