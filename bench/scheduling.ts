import { randomUUID } from 'node:crypto';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { createApiDependencies } from '../core/app/api-dependencies.ts';
import { createJobQueue } from '../core/app/dispatch-dependencies.ts';
import { createInProcessScheduler, createScheduler } from '../core/app/scheduler-dependencies.ts';
import { createWorkerDependencies } from '../core/app/worker-dependencies.ts';
import { LOCAL_CALLER } from '../core/auth/caller.ts';
import { createDocumentClient } from '../core/aws/dynamodb-client.ts';
import { dynamoDbClientOptions } from '../core/aws/client-options.ts';
import { jobToItem } from '../core/jobs/dynamodb-store.ts';
import type { Job } from '../core/jobs/job.ts';
import { newJobId } from '../core/ids.ts';
import { queueDefinition, DEFAULT_QUEUES } from '../core/resources.ts';
import { decideAdmissions, type PendingJob, type WorkerCapacity } from '../core/scheduling/decide-admissions.ts';
import { defaultGroupState } from '../core/scheduling/group-states.ts';
import { Worker } from '../core/worker/worker.ts';
import { DynamoDbWorkerRegistry } from '../core/workers/dynamodb-registry.ts';
import type { Gpu, WorkerRecord } from '../core/workers/registry.ts';
import { startLocalPlatform } from '../local/platform.ts';
import { benchJob } from './dispatch.ts';
import { ratio, summarize } from './stats.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The pool the 10,000 queued jobs wait on; only fake worker records serve it. */
const BACKLOG_POOL = 'backlog';

/**
 * The scheduler (specs/11-scheduling.md) on the local emulators:
 * - decision latency: `decideAdmissions` alone (20 groups × 10 heads over 50 workers), and one
 *   full pass (its reads, decision, admissions, waiting board) on an idle pool;
 * - submit → process start on an idle pool through the scheduler (submit kicks a pass, which
 *   admits to the worker's inbox) against DirectAdmission (admit and send in the submit, the
 *   pool's shared queue) in the same run, interleaved, each with its own worker;
 * - passes and admissions per second with 10,000 jobs queued across 20 groups: a pass reads each
 *   group's first 10 (21 queries), never the whole backlog (`considered` says how many it read).
 */
export async function benchScheduling(options: { decisions: number; dispatches: number; backlog: number; groups: number; passes: number }) {
  const pure = benchPureDecision(options.decisions);
  const started = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const platform = await startLocalPlatform({
    inMemory: true,
    port: 0,
    workers: 0,
    // Only this bench's passes and kicks run (the platform's periodic pass would add passes of its own).
    schedulerIntervalSeconds: 3_600,
    queues: [...DEFAULT_QUEUES, queueDefinition(BACKLOG_POOL)],
    dataDir: `/tmp/runplane-bench-${randomUUID().slice(0, 8)}`,
    log: () => undefined,
  });
  const workers: Worker[] = [];
  const kicker = createInProcessScheduler(platform.config);
  try {
    const { config } = platform;
    const onProcessStarted = (job: Job) => {
      started.set(job.id, performance.now());
      waiters.get(job.id)?.();
    };
    // Scheduled: pool `default`, its worker polls its inbox. Direct: pool `gpu`, the shared queue.
    const scheduledApi = createApiDependencies(config, { queue: createJobQueue(config), admission: kicker, log: () => undefined });
    const directApi = createApiDependencies(config, { queue: createJobQueue(config), log: () => undefined });
    for (const [pool, scheduler] of [['default', kicker], ['gpu', undefined]] as const) {
      const worker = new Worker({
        ...createWorkerDependencies(config),
        pool,
        concurrency: 4,
        pollWaitSeconds: 20,
        ...(scheduler ? { scheduler } : {}),
        onProcessStarted,
        log: () => undefined,
      });
      worker.start();
      workers.push(worker);
    }
    await sleep(1_000); // both workers reported and polling
    const oneStart = async (api: typeof scheduledApi, queue: string) => {
      const t = performance.now();
      const { job } = await api.jobs.submit({ command: ['true'], queue, labels: { bench: 'scheduling' } }, LOCAL_CALLER);
      if (!started.has(job.id)) await new Promise<void>((resolve) => waiters.set(job.id, resolve));
      waiters.delete(job.id);
      // Let the job end, and the pass its end kicked finish, before the next sample: the pool is
      // idle for each (a submit that lands during a pass waits for it, then runs one more).
      await sleep(150);
      await kicker.idle();
      return started.get(job.id)! - t;
    };
    for (let i = 0; i < 10; i++) {
      await oneStart(scheduledApi, 'default');
      await oneStart(directApi, 'gpu');
    }
    const viaScheduler: number[] = [];
    const viaDirect: number[] = [];
    for (let i = 0; i < options.dispatches; i++) {
      // Alternating which goes first, so drift in the machine's load falls on both.
      if (i % 2 === 0) {
        viaScheduler.push(await oneStart(scheduledApi, 'default'));
        viaDirect.push(await oneStart(directApi, 'gpu'));
      } else {
        viaDirect.push(await oneStart(directApi, 'gpu'));
        viaScheduler.push(await oneStart(scheduledApi, 'default'));
      }
    }
    const { scheduler } = createScheduler(config);
    const idlePass: number[] = [];
    for (let i = 0; i < options.passes; i++) {
      const t = performance.now();
      await scheduler.pass('default');
      idlePass.push(performance.now() - t);
    }

    const backlog = await benchBacklog(config, scheduler, options);
    const schedulerSummary = summarize(viaScheduler);
    const directSummary = summarize(viaDirect);
    const overP50 = Math.round((schedulerSummary.p50 - directSummary.p50) * 100) / 100;
    process.stderr.write(
      `bench: submit → start p50 ${schedulerSummary.p50} ms through the scheduler vs ${directSummary.p50} ms DirectAdmission: +${overP50} ms (target ≤ +20 ms)\n`,
    );
    return {
      decision: { pureMicroseconds: pure, idlePassMs: summarize(idlePass) },
      submitToStart: {
        viaSchedulerMs: schedulerSummary,
        directAdmissionMs: directSummary,
        p50OverDirectMs: overP50,
        ratioP50: ratio(schedulerSummary.p50, directSummary.p50),
        target: 'p50OverDirectMs ≤ 20',
        meetsTarget: overP50 <= 20,
      },
      backlog,
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop({ drainSeconds: 0 })));
    await kicker.stop();
    await platform.stop();
  }
}

/** decideAdmissions alone, on the input a busy queue gives it: 20 groups × 10 heads, 50 workers. */
function benchPureDecision(decisions: number) {
  const groupNames = Array.from({ length: 20 }, (_, g) => `group-${String(g).padStart(2, '0')}`);
  let seq = 0;
  const pending = new Map<string, PendingJob[]>(
    groupNames.map((group) => [group, Array.from({ length: 10 }, () => ({ id: `J${String(seq++).padStart(6, '0')}`, group, priority: 0, gpus: 1 + (seq % 2), attempt: 0, retryAt: null }))]),
  );
  const workers: WorkerCapacity[] = Array.from({ length: 50 }, (_, w) => ({ workerId: `w${w}`, freeSlots: w % 3, freeGpus: w % 3, totalGpus: 4 }));
  const groups = new Map(groupNames.map((g, i) => [g, { ...defaultGroupState(g), weight: 1 + (i % 3), decayedGpuSeconds: i * 1_000 }]));
  const now = new Date();
  const samples: number[] = [];
  for (let i = 0; i < decisions; i++) {
    const t = performance.now();
    decideAdmissions({ now, queue: 'bench', workers, pending, groups });
    samples.push((performance.now() - t) * 1000);
  }
  return summarize(samples.slice(Math.floor(decisions / 10))); // the first tenth warms the JIT
}

/**
 * 10,000 jobs pending on one pool across 20 groups (written in batches, as submits would leave
 * them), 20 fake workers of 8 GPUs in the registry. Passes with no free capacity measure the
 * reads and the decision; passes with 160 free slots admit 160 jobs each (written and sent), which
 * are then put back so every pass sees the same backlog.
 */
async function benchBacklog(
  config: Parameters<typeof createScheduler>[0],
  scheduler: ReturnType<typeof createScheduler>['scheduler'],
  options: { backlog: number; groups: number; passes: number },
) {
  const ddb = createDocumentClient(dynamoDbClientOptions(config));
  const jobs = new Map<string, Job>();
  for (let i = 0; i < options.backlog; i++) {
    const job = benchJob(BACKLOG_POOL, { id: newJobId(), group: `group-${String(i % options.groups).padStart(2, '0')}`, resources: { gpus: 1, cpu: 1, memoryMiB: 1024 } });
    jobs.set(job.id, job);
  }
  const writeStarted = performance.now();
  const items = [...jobs.values()].map((j) => ({ PutRequest: { Item: jobToItem(j) } }));
  const batches: (typeof items)[] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let batch = batches.pop(); batch; batch = batches.pop()) {
        let unprocessed: Record<string, unknown>[] | undefined = batch;
        while (unprocessed && unprocessed.length > 0) {
          const out = await ddb.send(new BatchWriteCommand({ RequestItems: { [config.tables.jobs]: unprocessed as typeof batch } }));
          unprocessed = out.UnprocessedItems?.[config.tables.jobs] as Record<string, unknown>[] | undefined;
        }
      }
    }),
  );
  const writeSeconds = Math.round((performance.now() - writeStarted) / 100) / 10;

  const { store } = createScheduler(config);
  const registry = new DynamoDbWorkerRegistry({ client: ddb, tableName: config.tables.jobs });
  const gpus: Gpu[] = Array.from({ length: 8 }, (_, index) => ({ index, uuid: `GPU-bench-${index}`, name: 'Bench', memoryTotalMiB: 1, memoryUsedMiB: 0, utilizationPercent: null }));
  const fakeWorkers = async (count: number) => {
    const at = new Date().toISOString();
    await Promise.all(
      Array.from({ length: count }, (_, w) => {
        const record: WorkerRecord = { workerId: `bench-${w}`, pool: BACKLOG_POOL, hostname: 'bench', pid: 0, concurrency: 8, gpus, runningJobs: [], startedAt: at, lastSeenAt: at, draining: false };
        return registry.report(record);
      }),
    );
  };

  // No capacity: what one decision over the backlog costs, reads included.
  const noCapacity: number[] = [];
  let considered = 0;
  for (let i = 0; i < options.passes; i++) {
    const t = performance.now();
    const report = await scheduler.pass(BACKLOG_POOL);
    noCapacity.push(performance.now() - t);
    considered = report.considered;
  }
  // 160 free slots and GPUs: each pass admits 160 jobs.
  await fakeWorkers(20);
  const admitting: number[] = [];
  let admittedPerPass = 0;
  for (let i = 0; i < options.passes; i++) {
    const t = performance.now();
    const report = await scheduler.pass(BACKLOG_POOL);
    admitting.push(performance.now() - t);
    admittedPerPass = report.admitted.length;
    await Promise.all(report.admitted.map((id) => store.unadmitJob(jobs.get(id)!)));
  }
  for (let w = 0; w < 20; w++) await registry.remove(`bench-${w}`);
  const idle = summarize(noCapacity);
  const busy = summarize(admitting);
  return {
    queuedJobs: options.backlog,
    groups: options.groups,
    backlogWriteSeconds: writeSeconds,
    pendingJobsReadPerPass: considered,
    passNoCapacityMs: idle,
    passesPerSecond: Math.round((1000 / idle.p50) * 10) / 10,
    passAdmittingMs: busy,
    admittedPerPass,
    admissionsPerSecond: Math.round((admittedPerPass * 1000) / busy.p50),
  };
}
