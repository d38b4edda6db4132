import { createDocumentClient } from '../aws/dynamodb-client.ts';
import { createSqsClient } from '../aws/sqs-client.ts';
import type { RuntimeConfig } from '../config.ts';
import { DynamoDbEventStore } from '../events/dynamodb-event-store.ts';
import { logArchiveDependencies } from './log-archive-dependencies.ts';
import { DynamoDbJobStore } from '../jobs/dynamodb-store.ts';
import { SqsJobQueue } from '../queue/sqs-job-queue.ts';
import { DynamoDbWorkerRegistry } from '../workers/dynamodb-registry.ts';

/** The stores and queue a worker writes through, built from the runtime configuration. */
export function createWorkerDependencies(config: RuntimeConfig) {
  const documentClient = createDocumentClient({
    region: config.region,
    ...(config.endpoints.dynamodb ? { endpoint: config.endpoints.dynamodb } : {}),
  });
  const sqs = createSqsClient({ region: config.region, ...(config.endpoints.sqs ? { endpoint: config.endpoints.sqs } : {}) });
  return {
    store: new DynamoDbJobStore({ client: documentClient, tableName: config.tables.jobs, audit: { tableName: config.tables.audit } }),
    events: new DynamoDbEventStore({
      client: documentClient,
      tableName: config.tables.events,
      ...(config.eventRetentionDays !== undefined ? { retentionDays: config.eventRetentionDays } : {}),
    }),
    ...logArchiveDependencies(config),
    queue: new SqsJobQueue({ client: sqs, queueUrls: Object.fromEntries(config.queues.map((q) => [q.pool, q.url])) }),
    registry: new DynamoDbWorkerRegistry({ client: documentClient, tableName: config.tables.jobs }),
  };
}
