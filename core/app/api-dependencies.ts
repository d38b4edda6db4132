import { LOCAL_CALLER } from '../auth/caller.ts';
import { createDocumentClient, createSqsClient } from '../aws/clients.ts';
import { loadRuntimeConfig, type RuntimeConfig } from '../config.ts';
import { DynamoDbEventStore } from '../events/dynamodb-event-store.ts';
import type { Authenticator } from '../http/api-handler.ts';
import { jsonLogger } from '../http/api-handler.ts';
import { DynamoDbJobStore } from '../jobs/dynamodb-store.ts';
import { JobService } from '../jobs/job-service.ts';
import { SqsJobQueue } from '../queue/sqs-job-queue.ts';
import { DynamoDbWorkerRegistry } from '../workers/dynamodb-registry.ts';
import type { Clock } from '../ids.ts';

/** Everything an API handler needs, built once per Lambda container or per local platform. */
export interface ApiDependencies {
  readonly config: RuntimeConfig;
  readonly jobs: JobService;
  readonly authenticate: Authenticator;
}

export function createApiDependencies(config: RuntimeConfig, options: { clock?: Clock } = {}): ApiDependencies {
  const documentClient = createDocumentClient({
    region: config.region,
    ...(config.endpoints.dynamodb ? { endpoint: config.endpoints.dynamodb } : {}),
  });
  const sqs = createSqsClient({ region: config.region, ...(config.endpoints.sqs ? { endpoint: config.endpoints.sqs } : {}) });
  const jobs = new JobService({
    store: new DynamoDbJobStore({ client: documentClient, tableName: config.tables.jobs }),
    events: new DynamoDbEventStore({ client: documentClient, tableName: config.tables.events }),
    queue: new SqsJobQueue({ client: sqs, queueUrls: Object.fromEntries(config.queues.map((q) => [q.pool, q.url])) }),
    queues: config.queues,
    registry: new DynamoDbWorkerRegistry({ client: documentClient, tableName: config.tables.jobs }),
    ...(options.clock ? { clock: options.clock } : {}),
    log: (message, fields) => jsonLogger('warn', message, fields),
  });
  // Until authentication lands every request acts as the local admin of group `default`.
  const authenticate: Authenticator = async () => LOCAL_CALLER;
  return { config, jobs, authenticate };
}

let fromEnvironment: Promise<ApiDependencies> | undefined;

/** Lambda's default: configuration from the environment, built on the first request and reused. */
export function apiDependenciesFromEnvironment(): Promise<ApiDependencies> {
  fromEnvironment ??= Promise.resolve().then(() => createApiDependencies(loadRuntimeConfig()));
  return fromEnvironment;
}
