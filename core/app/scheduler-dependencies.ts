import { ConfigError, type RuntimeConfig } from '../config.ts';
import { DynamoDbJobStore } from '../jobs/dynamodb-store.ts';
import { DynamoDbWaitingBoards } from '../jobs/dynamodb-waiting-boards.ts';
import { SqsJobQueue } from '../queue/sqs-job-queue.ts';
import type { GroupStates } from '../scheduling/group-states.ts';
import { createGroupStates } from './group-dependencies.ts';
import { Scheduler, type SchedulerDependencies } from '../scheduling/scheduler.ts';
import { InProcessScheduler } from '../scheduling/scheduler-kicker.ts';
import { DynamoDbPassLease } from '../scheduling/dynamodb-pass-lease.ts';
import { runLeasedPasses, type LeasedRun } from '../scheduling/leased-passes.ts';
import { createSchedulerKick } from './scheduler-kick-dependencies.ts';
import { DynamoDbWorkerRegistry } from '../workers/dynamodb-registry.ts';
import { createDynamoDbClient, type ClientsOptions } from './clients.ts';
import { createSqsClientFor } from './sqs-clients.ts';

export interface SchedulerOptions extends ClientsOptions {
  /** Fair-share weights, quotas and recent use of groups; the group items of the jobs table by default. */
  readonly groups?: GroupStates;
  readonly log?: SchedulerDependencies['log'];
}

/** A scheduler over the deployment's jobs table, registry and pool queues. */
export function createScheduler(config: RuntimeConfig, options: SchedulerOptions = {}): { scheduler: Scheduler; store: DynamoDbJobStore; client: ReturnType<typeof createDynamoDbClient> } {
  const client = createDynamoDbClient(config, options);
  const store = new DynamoDbJobStore({ client, tableName: config.tables.jobs, audit: { tableName: config.tables.audit } });
  const scheduler = new Scheduler({
    store,
    queue: new SqsJobQueue({ client: createSqsClientFor(config, options), queueUrls: Object.fromEntries(config.queues.map((q) => [q.pool, q.url])) }),
    registry: new DynamoDbWorkerRegistry({ client, tableName: config.tables.jobs }),
    groups: options.groups ?? createGroupStates(config, { client }),
    boards: new DynamoDbWaitingBoards({ client, tableName: config.tables.jobs }),
    ...(options.log ? { log: options.log } : {}),
  });
  return { scheduler, store, client };
}

/** Passes run in this process, kicked by its API and workers (the local platform, `runplane worker`). */
export function createInProcessScheduler(config: RuntimeConfig, options: SchedulerOptions = {}): InProcessScheduler {
  const { scheduler, store } = createScheduler(config, options);
  return new InProcessScheduler((pool) => scheduler.pass(pool), {
    store,
    ...(options.log ? { log: (message, fields) => options.log!('warn', message, fields) } : {}),
  });
}

/** The scheduler Lambda's passes: one pool at a time per deployment, under the pool's lease (specs/11-scheduling.md decision 12). */
export interface LeasedScheduler {
  readonly pools: readonly string[];
  /** Runs the pool's passes, or leaves them to the invocation that holds its lease. */
  run(pool: string, holder: string, deadlineMs?: number): Promise<LeasedRun>;
}

export function createLeasedScheduler(config: RuntimeConfig, options: SchedulerOptions = {}): LeasedScheduler {
  const { scheduler, store, client } = createScheduler(config, options);
  const kick = createSchedulerKick(config, {
    store,
    ...(options.meter ? { meter: options.meter } : {}),
    ...(options.log ? { log: (message, fields) => options.log!('warn', message, fields) } : {}),
  });
  if (!kick) throw new ConfigError('invalid Runplane configuration: RUNPLANE_SCHEDULER_QUEUE_URL is required by the scheduler');
  const lease = new DynamoDbPassLease({ client, tableName: config.tables.jobs });
  return {
    pools: config.queues.map((q) => q.pool),
    run: (pool, holder, deadlineMs) =>
      runLeasedPasses(pool, {
        lease,
        pass: (p) => scheduler.pass(p),
        kick: (p, afterMs) => kick.send(p, afterMs),
        holder,
        ...(deadlineMs !== undefined ? { deadlineMs } : {}),
      }),
  };
}
