import { DynamoDbEventStore } from '../../core/events/dynamodb-event-store.ts';
import { DynamoDbJobStore } from '../../core/jobs/dynamodb-store.ts';
import { JobService } from '../../core/jobs/job-service.ts';
import { SqsJobQueue } from '../../core/queue/sqs-job-queue.ts';
import { AUDIT_TABLE, EVENTS_TABLE, JOBS_TABLE, tableName } from '../../core/resources.ts';
import type { Job } from '../../core/jobs/job.ts';
import type { TestEnvironment } from './emulators.ts';
import type { JobAdmission } from '../../core/jobs/job-admission.ts';
import { DynamoDbWaitingBoards } from '../../core/jobs/dynamodb-waiting-boards.ts';
import { DEFAULT_GROUP_STATES } from '../../core/scheduling/group-states.ts';
import { Scheduler } from '../../core/scheduling/scheduler.ts';
import { InProcessScheduler } from '../../core/scheduling/scheduler-kicker.ts';
import { DynamoDbWorkerRegistry } from '../../core/workers/dynamodb-registry.ts';

/**
 * The real adapters over a test environment's tables and queues. With `admission` (a scheduler),
 * what the service and the store's releases make runnable goes through it; without, direct dispatch.
 */
export function platformParts(env: TestEnvironment, options: { readonly admission?: JobAdmission } = {}) {
  // Its final states release the jobs waiting for them, through the service's dispatch (as deployed).
  const store: DynamoDbJobStore = new DynamoDbJobStore({
    client: env.documentClient,
    tableName: tableName(env.prefix, JOBS_TABLE),
    audit: { tableName: tableName(env.prefix, AUDIT_TABLE) },
    dispatch: (job) => service.dispatch(job),
  });
  const events = new DynamoDbEventStore({ client: env.documentClient, tableName: tableName(env.prefix, EVENTS_TABLE) });
  const queue = new SqsJobQueue({ client: env.sqs, queueUrls: Object.fromEntries(env.queues.map((q) => [q.pool, q.url])) });
  const queues = env.queues.map((q) => {
    const d = env.queueDefinitions.find((x) => x.pool === q.pool)!;
    return { ...q, visibilityTimeoutSeconds: d.visibilityTimeoutSeconds, maxReceiveCount: d.maxReceiveCount, defaultMaxAttempts: d.defaultMaxAttempts };
  });
  const service: JobService = new JobService({ store, events, queue, queues, ...options });
  return { store, events, queue, queues, service };
}

/**
 * platformParts with the scheduler as the local platform runs it: one InProcessScheduler for the
 * environment's pools (the service's dispatch and the workers' ends kick it), the worker registry,
 * the waiting boards, and a periodic pass as the safety net. Stop it with `stop()`.
 */
export function scheduledPlatformParts(env: TestEnvironment, periodicPassMs = 1_000) {
  const jobsTable = tableName(env.prefix, JOBS_TABLE);
  const registry = new DynamoDbWorkerRegistry({ client: env.documentClient, tableName: jobsTable });
  const boards = new DynamoDbWaitingBoards({ client: env.documentClient, tableName: jobsTable });
  // The kicker is made after the parts it schedules; the service only calls it once a job is runnable.
  const late: { kicker?: InProcessScheduler } = {};
  const admission: JobAdmission = {
    runnable: (job) => late.kicker!.runnable(job),
    unclaimed: (job) => late.kicker!.unclaimed(job),
  };
  const parts = platformParts(env, { admission });
  const scheduler = new Scheduler({ store: parts.store, queue: parts.queue, registry, groups: DEFAULT_GROUP_STATES, boards });
  const kicker = (late.kicker = new InProcessScheduler((pool) => scheduler.pass(pool), { store: parts.store }));
  const service = new JobService({ ...parts, admission: kicker, registry, waitingBoards: boards });
  const pools = env.queues.map((q) => q.pool);
  const periodic = setInterval(() => pools.forEach((pool) => kicker.kick(pool)), periodicPassMs);
  return {
    ...parts,
    /** The service API routes use: with the registry and boards, so `describe` says why a job waits. */
    service,
    kicker,
    registry,
    boards,
    async stop(): Promise<void> {
      clearInterval(periodic);
      await kicker.stop();
    },
  };
}

/** Polls until the job satisfies `done` (these tests wait on real processes and emulators). */
export async function waitForJob(
  store: DynamoDbJobStore,
  jobId: string,
  done: (job: Job) => boolean,
  timeoutMs = 20_000,
): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await store.getJob(jobId);
    if (job && done(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not reach the expected state; last: ${JSON.stringify(job?.state)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Worker settings for tests: short lease, fast heartbeats and flushes, so tests wait little. */
export const FAST_WORKER_OPTIONS = {
  pool: 'default',
  concurrency: 2,
  leaseSeconds: 10,
  heartbeatSeconds: 0.2,
  killGraceSeconds: 1,
  pollWaitSeconds: 1,
  flushIntervalMs: 20,
} as const;
