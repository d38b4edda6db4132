import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LOCAL_CALLER } from '../../core/auth/caller.ts';
import { DynamoDbWaitingBoards } from '../../core/jobs/dynamodb-waiting-boards.ts';
import { isTerminal, type Job } from '../../core/jobs/job.ts';
import type { DynamoDbJobStore } from '../../core/jobs/dynamodb-store.ts';
import { JobService } from '../../core/jobs/job-service.ts';
import { JOBS_TABLE, tableName } from '../../core/resources.ts';
import { DEFAULT_GROUP_STATES } from '../../core/scheduling/group-states.ts';
import { Scheduler } from '../../core/scheduling/scheduler.ts';
import { InProcessScheduler } from '../../core/scheduling/scheduler-kicker.ts';
import { Worker } from '../../core/worker/worker.ts';
import { DynamoDbWorkerRegistry } from '../../core/workers/dynamodb-registry.ts';
import { createTestEnvironment, type TestEnvironment } from '../support/emulators.ts';
import { fakeGpus } from '../support/fake-gpus.ts';
import { FAST_WORKER_OPTIONS, platformParts, waitForJob } from '../support/platform-parts.ts';

/**
 * The scheduler on the real emulators, with workers that find fake GPUs through a fake
 * nvidia-smi: jobs wait for capacity (never for receives), start one after another on the GPUs
 * they need, and in priority order.
 */
describe('scheduling on DynamoDB Local and fauxqs', () => {
  let env: TestEnvironment;
  let parts: ReturnType<typeof platformParts>;
  let registry: DynamoDbWorkerRegistry;
  let kicker: InProcessScheduler;
  let service: JobService;
  let periodic: NodeJS.Timeout;
  const workers: Worker[] = [];
  const logs: { message: string; fields?: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment();
    parts = platformParts(env);
    const jobsTable = tableName(env.prefix, JOBS_TABLE);
    registry = new DynamoDbWorkerRegistry({ client: env.documentClient, tableName: jobsTable });
    const boards = new DynamoDbWaitingBoards({ client: env.documentClient, tableName: jobsTable });
    const scheduler = new Scheduler({ store: parts.store, queue: parts.queue, registry, groups: DEFAULT_GROUP_STATES, boards });
    kicker = new InProcessScheduler((pool) => scheduler.pass(pool), { store: parts.store });
    service = new JobService({ ...parts, admission: kicker, registry, waitingBoards: boards });
    // The safety-net pass (the local platform's loop; a scheduled Lambda in AWS).
    periodic = setInterval(() => kicker.kick('default'), 1_000);
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ drainSeconds: 0 })));
  });
  afterAll(async () => {
    clearInterval(periodic);
    await kicker.stop();
    await env.cleanup();
  });

  const startWorker = (gpus: Awaited<ReturnType<typeof fakeGpus>>, concurrency: number, store: DynamoDbJobStore = parts.store) => {
    const worker = new Worker({
      ...parts,
      store,
      ...FAST_WORKER_OPTIONS,
      concurrency,
      gpus,
      registry,
      reportIntervalSeconds: 0.3,
      scheduler: kicker,
      log: (_level, message, fields) => logs.push({ message, ...(fields ? { fields } : {}) }),
    });
    worker.start();
    workers.push(worker);
    return worker;
  };

  const submit = async (body: Record<string, unknown>) => (await service.submit({ command: ['true'], ...body }, LOCAL_CALLER)).job;
  const messagesInFlight = async () => {
    const out = await env.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: env.queues[0]!.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  };

  it('six 2-GPU jobs on one 2-GPU worker all succeed, one after another, each on both GPUs', async () => {
    startWorker(await fakeGpus(2), 4);
    const jobs: Job[] = [];
    for (let i = 0; i < 6; i++) {
      jobs.push(await submit({ command: ['node', '-e', 'console.log(process.env.CUDA_VISIBLE_DEVICES); setTimeout(() => {}, 300)'], resources: { gpus: 2 } }));
    }
    const done = await Promise.all(jobs.map((j) => waitForJob(parts.store, j.id, (x) => isTerminal(x.state), 90_000)));
    expect(done.map((j) => j.state)).toEqual(Array(6).fill('SUCCEEDED'));
    // One attempt each: no job was ever handed back or failed for waiting.
    expect(done.map((j) => j.attempt)).toEqual(Array(6).fill(1));
    const byStart = [...done].sort((a, b) => a.startedAt!.localeCompare(b.startedAt!));
    for (let i = 1; i < byStart.length; i++) {
      expect(byStart[i]!.startedAt! >= byStart[i - 1]!.finishedAt!, `job ${i} started before job ${i - 1} finished`).toBe(true);
    }
    for (const job of done) {
      const out = await service.logs(job.id, { attempt: '1' }, LOCAL_CALLER);
      expect(out.bytes.toString('utf8')).toBe('0,1\n');
    }
    // The scheduler admitted only what fit: no worker ever received a job it had to put back.
    expect(logs.filter((l) => l.message === 'job needs more GPUs than this worker has')).toEqual([]);
  }, 120_000);

  it('a GPU job on a queue whose workers have no GPU waits QUEUED, spending no receives, until a GPU worker joins', async () => {
    const cpuWorker = startWorker([], 2);
    const gpuJob = await submit({ command: ['node', '-e', 'console.log(process.env.CUDA_VISIBLE_DEVICES)'], resources: { gpus: 1 } });
    const cpuJob = await submit({});
    // The CPU job runs: the pool's worker is live and polling.
    await waitForJob(parts.store, cpuJob.id, (j) => j.state === 'SUCCEEDED', 30_000);
    // Many passes later (one a second, and one per job end) the GPU job was never admitted: no
    // message exists for it, so none of its receives can be spent and it can never dead-letter.
    await new Promise((r) => setTimeout(r, 8_000));
    const waiting = await parts.store.getJob(gpuJob.id);
    expect(waiting).toMatchObject({ state: 'QUEUED', attempt: 0, admittedAt: null });
    expect(waiting!.history.map((h) => h.to)).toEqual(['QUEUED']);
    expect(await messagesInFlight()).toBe(0);
    const { waiting: why } = await service.describe(gpuJob.id, LOCAL_CALLER);
    expect(why).toMatchObject({ code: 'NoCapacity' });
    expect(why!.message).toMatch(/needs 1 GPU/);
    // A GPU worker joins while the GPU-less one keeps polling with free slots: the pass admits the
    // job to the GPU worker's inbox, so the GPU-less worker never receives it (it used to, and put
    // it back, over and over: the mixed-pool defect).
    const joinedAt = Date.now();
    const gpuWorker = startWorker(await fakeGpus(1), 1);
    const done = await waitForJob(parts.store, gpuJob.id, (j) => isTerminal(j.state), 60_000);
    expect(done).toMatchObject({ state: 'SUCCEEDED', attempt: 1 });
    expect(done.attempts.map((a) => a.workerId)).toEqual([gpuWorker.workerId]);
    expect((await service.logs(gpuJob.id, { attempt: '1' }, LOCAL_CALLER)).bytes.toString('utf8')).toBe('0\n');
    expect(logs.filter((l) => l.message === 'job needs more GPUs than this worker has')).toEqual([]);
    // A few seconds on a loaded machine (one report, one pass, one receive); the put-back loop took 10-90 s.
    expect(new Date(done.startedAt!).getTime() - joinedAt).toBeLessThan(10_000);
    // The GPU-less worker still serves the CPU jobs of the pool.
    const later = await submit({});
    const ran = await waitForJob(parts.store, later.id, (j) => isTerminal(j.state), 30_000);
    expect(ran.attempts.map((a) => a.workerId)).toEqual([cpuWorker.workerId]);
  }, 180_000);

  it('a put-back never strands a job: one whose priority changed since the worker read it still goes back on the pending list', async () => {
    // The worker reads the job, then its priority is raised before the put-back's write, whose
    // condition holds the priority read (the pending sort key embeds it).
    const raced = new Set<string>();
    const store = Object.create(parts.store) as DynamoDbJobStore;
    store.unadmitJob = async (job) => {
      if (!raced.has(job.id)) {
        raced.add(job.id);
        await parts.store.setPriority(job.id, 7, 'user:test', new Date());
      }
      return parts.store.unadmitJob(job);
    };
    const cpuWorker = startWorker([], 1, store);
    const inbox = await vi.waitFor(
      async () => {
        const record = (await registry.listWorkers('default', 60_000, new Date())).find((w) => w.workerId === cpuWorker.workerId);
        if (!record?.inbox) throw new Error('worker not reported yet');
        return record.inbox;
      },
      { timeout: 20_000, interval: 100 },
    );
    const job = await submit({ resources: { gpus: 1 } });
    // What a stale or concurrent pass can do: admit it to a worker that cannot fit it.
    expect(await parts.store.admitJob(job, new Date())).toBe(true);
    await parts.queue.enqueue('default', { jobId: job.id }, { inbox });
    await vi.waitFor(() => expect(raced.has(job.id)).toBe(true), { timeout: 20_000, interval: 50 });
    // Back on the pending list at its new priority (before the fix: admitted, with no message and
    // on no list, until the admission sweeper's grace).
    await vi.waitFor(
      async () => {
        const heads = await parts.store.listPendingHeads('default', 10);
        expect((heads.get(job.group) ?? []).map((j) => [j.id, j.priority])).toContainEqual([job.id, 7]);
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(await parts.store.getJob(job.id)).toMatchObject({ state: 'QUEUED', attempt: 0, admittedAt: null, priority: 7 });
    startWorker(await fakeGpus(1), 1);
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 60_000);
    expect(done).toMatchObject({ state: 'SUCCEEDED', attempt: 1 });
  }, 120_000);

  it('a high-priority job submitted behind a backlog starts next, and a raised priority moves a job up', async () => {
    const blocker = await submit({ command: ['node', '-e', 'setTimeout(() => {}, 1500)'] });
    startWorker([], 1);
    await waitForJob(parts.store, blocker.id, (j) => j.state === 'RUNNING', 30_000);
    const backlog: Job[] = [];
    for (let i = 0; i < 3; i++) backlog.push(await submit({ command: ['node', '-e', 'setTimeout(() => {}, 100)'] }));
    const raised = await submit({ command: ['node', '-e', 'setTimeout(() => {}, 100)'] });
    const urgent = await submit({ command: ['node', '-e', 'setTimeout(() => {}, 100)'], priority: 100 });
    expect(urgent.priority).toBe(100);
    const updated = await service.update(raised.id, { priority: 50 }, LOCAL_CALLER);
    expect(updated.priority).toBe(50);
    const { waiting } = await service.describe(backlog[0]!.id, LOCAL_CALLER);
    expect(waiting?.code).toMatch(/^(Resources|Priority|Queued)$/);
    const all = [blocker, ...backlog, raised, urgent];
    const done = await Promise.all(all.map((j) => waitForJob(parts.store, j.id, (x) => isTerminal(x.state), 60_000)));
    const order = [...done].sort((a, b) => a.startedAt!.localeCompare(b.startedAt!)).map((j) => j.id);
    expect(order).toEqual([blocker.id, urgent.id, raised.id, ...backlog.map((j) => j.id)]);
    await expect(service.update(blocker.id, { priority: 1 }, LOCAL_CALLER)).rejects.toMatchObject({ code: 'JOB_NOT_IN_STATE' });
    await expect(service.update(backlog[0]!.id, { priority: 1001 }, LOCAL_CALLER)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  }, 90_000);
});
