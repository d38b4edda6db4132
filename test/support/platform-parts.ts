import { DynamoDbEventStore } from '../../core/events/dynamodb-event-store.ts';
import { DynamoDbJobStore } from '../../core/jobs/dynamodb-store.ts';
import { JobService } from '../../core/jobs/job-service.ts';
import { SqsJobQueue } from '../../core/queue/sqs-job-queue.ts';
import { AUDIT_TABLE, EVENTS_TABLE, JOBS_TABLE, tableName } from '../../core/resources.ts';
import type { Job } from '../../core/jobs/job.ts';
import type { TestEnvironment } from './emulators.ts';

/** The real adapters over a test environment's tables and queues. */
export function platformParts(env: TestEnvironment) {
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
  const service: JobService = new JobService({ store, events, queue, queues });
  return { store, events, queue, queues, service };
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
