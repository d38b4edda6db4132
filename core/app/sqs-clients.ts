import type { SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../aws/sqs-client.ts';
import type { RuntimeConfig } from '../config.ts';
import type { ClientsOptions } from './clients.ts';

/** The SQS client, built from the validated runtime config (see clients.ts). */
export function createSqsClientFor(config: RuntimeConfig, options: ClientsOptions = {}): SQSClient {
  return createSqsClient({
    region: config.region,
    ...(config.endpoints.sqs ? { endpoint: config.endpoints.sqs } : {}),
    ...(options.meter ? { meter: options.meter } : {}),
  });
}
