import type { RuntimeConfig } from '../config.ts';
import { DynamoDbEventStore } from '../events/dynamodb-event-store.ts';
import { dispatchRefusal } from '../jobs/dispatch-signature.ts';
import { logArchiveDependencies } from './log-archive-dependencies.ts';
import { DynamoDbJobStore } from '../jobs/dynamodb-store.ts';
import { JobService } from '../jobs/job-service.ts';
import { observability } from '../observability/observability.ts';
import type { Job } from '../jobs/job.ts';
import { SqsJobQueue } from '../queue/sqs-job-queue.ts';
import { DynamoDbWorkerRegistry } from '../workers/dynamodb-registry.ts';
import { createDynamoDbClient, type ClientsOptions } from './clients.ts';
import { createGroupParts } from './group-dependencies.ts';
import { createSqsClientFor } from './sqs-clients.ts';
import { StoredJobFiles } from '../worker/stored-job-files.ts';
import { createJobFilesParts } from './job-files-dependencies.ts';
import { createSchedulerKick } from './scheduler-kick-dependencies.ts';
import type { JobAdmission } from '../jobs/job-admission.ts';

export interface WorkerDependencyOptions extends ClientsOptions {
  /**
   * How the jobs this process makes runnable (released dependents, requeued attempts) are
   * admitted: the local platform's in-process scheduler. Default: the deployment's scheduler kick
   * (RUNPLANE_SCHEDULER_QUEUE_URL), or direct admission without one.
   */
  readonly admission?: JobAdmission;
}

/**
 * The stores and queue a worker writes through, built from the runtime configuration. In a
 * deployment with a scheduler kick queue (AWS) it includes `scheduler`, the worker's way to ask
 * for a pass when capacity frees, so spreading these into a Worker makes it a scheduled one.
 */
export function createWorkerDependencies(config: RuntimeConfig, options: WorkerDependencyOptions = {}) {
  const documentClient = createDynamoDbClient(config, options);
  const sqs = createSqsClientFor(config, options);
  const { dispatchKey } = config;
  const { quotas } = createGroupParts(config, documentClient);
  const queue = new SqsJobQueue({ client: sqs, queueUrls: Object.fromEntries(config.queues.map((q) => [q.pool, q.url])) });
  const events = new DynamoDbEventStore({
    client: documentClient,
    tableName: config.tables.events,
    ...(config.eventRetentionDays !== undefined ? { retentionDays: config.eventRetentionDays } : {}),
  });
  // A worker (or the reaper, or the dead-letter handler) that ends a job releases the jobs that
  // wait for it, through the same dispatch as a submit's.
  const store: DynamoDbJobStore = new DynamoDbJobStore({
    client: documentClient,
    tableName: config.tables.jobs,
    audit: { tableName: config.tables.audit },
    counters: [quotas],
    dispatch: (job) => dispatcher.dispatch(job),
    log: (message, fields) => observability().log('warn', message, fields ?? {}),
  });
  const log = (message: string, fields?: Record<string, unknown>) => observability().log('warn', message, fields ?? {});
  const kick = createSchedulerKick(config, { ...options, store, log });
  const admission = options.admission ?? kick;
  const dispatcher = new JobService({ store, events, queue, queues: config.queues, ...(admission ? { admission } : {}), log });
  return {
    store,
    /** Admission of the jobs this process makes runnable (the dead-letter consumer's requeued attempts). */
    dispatcher,
    ...optional('scheduler', kick),
    events,
    ...logArchiveDependencies(config, options),
    queue,
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
