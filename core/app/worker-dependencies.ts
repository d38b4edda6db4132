import type { RuntimeConfig } from '../config.ts';
import { DynamoDbEventStore } from '../events/dynamodb-event-store.ts';
import { dispatchRefusal } from '../jobs/dispatch-signature.ts';
import { logArchiveDependencies } from './log-archive-dependencies.ts';
import { DynamoDbJobStore } from '../jobs/dynamodb-store.ts';
import type { Job } from '../jobs/job.ts';
import { SqsJobQueue } from '../queue/sqs-job-queue.ts';
import { DynamoDbWorkerRegistry } from '../workers/dynamodb-registry.ts';
import { createDynamoDbClient, type ClientsOptions } from './clients.ts';
import { createSqsClientFor } from './sqs-clients.ts';
import { StoredJobFiles } from '../worker/stored-job-files.ts';
import { createJobFilesParts } from './job-files-dependencies.ts';

/** The stores and queue a worker writes through, built from the runtime configuration. */
export function createWorkerDependencies(config: RuntimeConfig, options: ClientsOptions = {}) {
  const documentClient = createDynamoDbClient(config, options);
  const sqs = createSqsClientFor(config, options);
  const { dispatchKey } = config;
  return {
    store: new DynamoDbJobStore({ client: documentClient, tableName: config.tables.jobs, audit: { tableName: config.tables.audit } }),
    events: new DynamoDbEventStore({
      client: documentClient,
      tableName: config.tables.events,
      ...(config.eventRetentionDays !== undefined ? { retentionDays: config.eventRetentionDays } : {}),
    }),
    ...logArchiveDependencies(config, options),
    queue: new SqsJobQueue({ client: sqs, queueUrls: Object.fromEntries(config.queues.map((q) => [q.pool, q.url])) }),
    registry: new DynamoDbWorkerRegistry({ client: documentClient, tableName: config.tables.jobs }),
    ...optional('jobFiles', workerJobFiles(createJobFilesParts(config, documentClient))),
    ...(dispatchKey ? { admitJob: (job: Job) => dispatchRefusal(dispatchKey, job) } : {}),
  };
}

/** Only the worker unpacks archives and collects artifacts: tar and minimatch stay out of the Lambda bundles. */
function workerJobFiles(parts: ReturnType<typeof createJobFilesParts>): StoredJobFiles | undefined {
  return parts ? new StoredJobFiles(parts) : undefined;
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
