import type { RuntimeConfig } from '../config.ts';
import { DynamoDbEventStore } from '../events/dynamodb-event-store.ts';
import { DynamoDbJobStore } from '../jobs/dynamodb-store.ts';
import { SqsJobQueue } from '../queue/sqs-job-queue.ts';
import { DynamoDbWorkerRegistry } from '../workers/dynamodb-registry.ts';
import { createDynamoDbClient, type ClientsOptions } from './clients.ts';
import { createSqsClientFor } from './sqs-clients.ts';

/** The stores and queue a worker writes through, built from the runtime configuration. */
export function createWorkerDependencies(config: RuntimeConfig, options: ClientsOptions = {}) {
  const documentClient = createDynamoDbClient(config, options);
  const sqs = createSqsClientFor(config, options);
  return {
    store: new DynamoDbJobStore({ client: documentClient, tableName: config.tables.jobs, audit: { tableName: config.tables.audit } }),
    events: new DynamoDbEventStore({ client: documentClient, tableName: config.tables.events }),
    queue: new SqsJobQueue({ client: sqs, queueUrls: Object.fromEntries(config.queues.map((q) => [q.pool, q.url])) }),
    registry: new DynamoDbWorkerRegistry({ client: documentClient, tableName: config.tables.jobs }),
  };
}
