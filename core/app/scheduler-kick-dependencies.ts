import type { RuntimeConfig } from '../config.ts';
import { DynamoDbJobStore } from '../jobs/dynamodb-store.ts';
import type { JobStore } from '../jobs/store.ts';
import { SqsSchedulerKick } from '../scheduling/sqs-scheduler-kick.ts';
import { createDynamoDbClient, type ClientsOptions } from './clients.ts';
import { createSqsClientFor } from './sqs-clients.ts';

export interface SchedulerKickOptions extends ClientsOptions {
  /** The store an unclaimed admission is put back through; one over the jobs table when absent. */
  readonly store?: Pick<JobStore, 'unadmitJob'>;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

/**
 * The deployment's way to ask for a scheduling pass when it has a scheduler kick queue (AWS):
 * what the API, the worker and the background functions admit runnable jobs through. Undefined
 * without one: the caller brings its own admission (the local platform's in-process scheduler),
 * or JobService admits directly (DirectAdmission).
 */
export function createSchedulerKick(config: RuntimeConfig, options: SchedulerKickOptions = {}): SqsSchedulerKick | undefined {
  if (!config.schedulerQueueUrl) return undefined;
  const store =
    options.store ?? new DynamoDbJobStore({ client: createDynamoDbClient(config, options), tableName: config.tables.jobs, audit: { tableName: config.tables.audit } });
  return new SqsSchedulerKick({
    client: createSqsClientFor(config, options),
    queueUrl: config.schedulerQueueUrl,
    store,
    ...(options.log ? { log: options.log } : {}),
  });
}
