import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../aws/dynamodb-client.ts';
import type { RequestMeter } from '../aws/request-meter.ts';
import type { RuntimeConfig } from '../config.ts';

/**
 * The SDK clients of a process are built in core/app and nowhere else, from the validated runtime
 * config: region, emulator endpoints, the SDK's retry count and, for the benchmark's cost model, a
 * request meter. The SQS client has its own module (sqs-clients.ts) so that handlers which never
 * send a message carry no SQS code in their bundles.
 */
export interface ClientsOptions {
  readonly meter?: RequestMeter;
}

export function createDynamoDbClient(config: RuntimeConfig, options: ClientsOptions = {}): DynamoDBDocumentClient {
  return createDocumentClient({
    region: config.region,
    ...(config.endpoints.dynamodb ? { endpoint: config.endpoints.dynamodb } : {}),
    ...(options.meter ? { meter: options.meter } : {}),
  });
}
