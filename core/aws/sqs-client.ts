import { SQSClient } from '@aws-sdk/client-sqs';
import { EMULATOR_CREDENTIALS, type ClientOptions } from './client-options.ts';

export function createSqsClient(options: ClientOptions = {}): SQSClient {
  return new SQSClient({
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    // fauxqs and LocalStack hand out queue URLs on hosts that need not resolve: the endpoint must win.
    ...(options.endpoint ? { endpoint: options.endpoint, credentials: EMULATOR_CREDENTIALS } : {}),
  });
}
