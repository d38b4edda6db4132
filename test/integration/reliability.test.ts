import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CALLER } from '../../core/auth/caller.ts';
import { runtimeConfigToEnv, type RuntimeConfig } from '../../core/config.ts';
import { IdempotencyKeyReusedError, LeaseLostError } from '../../core/errors.ts';
import { isTerminal } from '../../core/jobs/job.ts';
import { JobService } from '../../core/jobs/job-service.ts';
import { recoverLostAttempt } from '../../core/jobs/recovery.ts';
import { drainDeadLetters, handleDeadLetter, sweep } from '../../core/maintenance/maintenance.ts';
import type { JobQueue } from '../../core/queue/job-queue.ts';
import { SqsJobQueue } from '../../core/queue/sqs-job-queue.ts';
import { JOBS_TABLE, queueDefinition, tableName } from '../../core/resources.ts';
import { Worker } from '../../core/worker/worker.ts';
import { DynamoDbWorkerRegistry } from '../../core/workers/dynamodb-registry.ts';
import { createTestEnvironment, runtimeConfigFor, type TestEnvironment } from '../support/emulators.ts';
import { makeJob } from '../support/jobs.ts';
import { platformParts, waitForJob } from '../support/platform-parts.ts';

/**
 * Fault injection on the real emulators: the lifecycle contract of PRODUCT.md, one failure at a time.
 * Queues use a 3 s visibility (= lease) so lost workers are noticed quickly.
 */
describe('exactly-once job effects on at-least-once delivery', () => {
  let env: TestEnvironment;
  let parts: ReturnType<typeof platformParts>;
  const workers: Worker[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment([queueDefinition('default', { visibilityTimeoutSeconds: 3, maxReceiveCount: 2 })]);
    parts = platformParts(env);
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ drainSeconds: 0 })));
  });
  afterAll(async () => env.cleanup());

  const startWorker = (overrides: Partial<ConstructorParameters<typeof Worker>[0]> = {}) => {
    const worker = new Worker({
      ...parts,
      pool: 'default',
      concurrency: 4,
      leaseSeconds: 3,
      heartbeatSeconds: 0.5,
      killGraceSeconds: 1,
      pollWaitSeconds: 1,
      flushIntervalMs: 20,
      ...overrides,
    });
    worker.start();
    workers.push(worker);
    return worker;
  };
  const logs = async (jobId: string, attempt: number) =>
    (await parts.service.logs(jobId, { attempt: String(attempt) }, LOCAL_CALLER)).bytes.toString('utf8');
  const runtimeConfig = (): RuntimeConfig => runtimeConfigFor(env);

  it('concurrent submits with one idempotency key create exactly one job', async () => {
    const body = { command: ['true'], labels: { run: 'idem' } };
    const results = await Promise.all(
      Array.from({ length: 12 }, () => parts.service.submit(body, LOCAL_CALLER, { idempotencyKey: 'same-key-1' })),
    );
    const ids = new Set(results.map((r) => r.job.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    // Key order in the body does not matter; a different body does.
    const replay = await parts.service.submit({ labels: { run: 'idem' }, command: ['true'] }, LOCAL_CALLER, { idempotencyKey: 'same-key-1' });
    expect(replay).toMatchObject({ created: false, job: { id: [...ids][0] } });
    await expect(parts.service.submit({ command: ['false'] }, LOCAL_CALLER, { idempotencyKey: 'same-key-1' })).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
    // Another caller's identical key is a different key.
    const other = await parts.service.submit(body, { ...LOCAL_CALLER, subject: 'someone-else' }, { idempotencyKey: 'same-key-1' });
    expect(other.created).toBe(true);
  });

  it('a job whose SendMessage failed still runs: the dispatch sweeper sends it', async () => {
    const failingQueue: JobQueue = Object.assign(Object.create(parts.queue) as JobQueue, {
      enqueue: async () => {
        throw new Error('injected SendMessage failure');
      },
    });
    const flaky = new JobService({ store: parts.store, events: parts.events, queue: failingQueue, queues: parts.queues });
    const { job } = await flaky.submit({ command: ['node', '-e', "console.log('dispatched late')"] }, LOCAL_CALLER);
    expect((await parts.store.getJob(job.id))?.dispatched).toBe(false);
    startWorker();
    const report = await sweep({ store: parts.store, jobs: parts.service, queue: parts.queue }, ['default'], {
      dispatchGraceSeconds: 0,
      leaseGraceSeconds: 60,
    });
    expect(report.redispatched).toContain(job.id);
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state));
    expect(done.state).toBe('SUCCEEDED');
    expect(await logs(job.id, 1)).toBe('dispatched late\n');
  });

  it('a stale worker cannot complete, requeue or renew after a newer attempt started', async () => {
    const { job } = await parts.service.submit({ command: ['true'], maxAttempts: 3 }, LOCAL_CALLER);
    const t0 = new Date();
    const first = await parts.store.claimAttempt({
      jobId: job.id, group: job.group, workerId: 'slow-worker', leaseId: 'lease-old', leaseExpiresAt: t0.getTime() + 1_000, expectedAttempt: 0, now: t0,
    });
    // The old lease lapses; recovery (a worker that got the message back) starts attempt 2.
    const later = () => new Date(t0.getTime() + 5_000);
    const requeued = await recoverLostAttempt(parts.store, first, later);
    expect(requeued).toMatchObject({ state: 'QUEUED', attempt: 1 });
    const second = await parts.store.claimAttempt({
      jobId: job.id, group: job.group, workerId: 'new-worker', leaseId: 'lease-new', leaseExpiresAt: later().getTime() + 60_000, expectedAttempt: 1, now: later(),
    });
    expect(second.attempt).toBe(2);
    const stale = { jobId: job.id, group: job.group, leaseId: 'lease-old', attempt: 1, now: later() };
    await expect(parts.store.finishAttempt({ ...stale, to: 'SUCCEEDED', exitCode: 0, reason: 'exited with code 0' })).rejects.toBeInstanceOf(LeaseLostError);
    await expect(parts.store.requeueAttempt({ ...stale, exitCode: 1, reason: 'x', retryAt: null })).rejects.toBeInstanceOf(LeaseLostError);
    await expect(parts.store.renewLease(job.id, 'lease-old', Date.now() + 60_000)).rejects.toBeInstanceOf(LeaseLostError);
    // Recovery itself is fenced: a live lease is never taken over.
    await expect(recoverLostAttempt(parts.store, second, later)).rejects.toBeInstanceOf(LeaseLostError);
    const current = await parts.store.getJob(job.id);
    expect(current).toMatchObject({ state: 'RUNNING', attempt: 2, lease: { id: 'lease-new' } });
    expect(current?.attempts.map((a) => a.workerId)).toEqual(['slow-worker', 'new-worker']);
    expect(current?.attempts[0]?.reason).toMatch(/worker slow-worker lost/);
  });

  it('SIGKILL of a worker mid-job: its lease expires and another worker runs the next attempt', async () => {
    const script =
      "if (process.env.RUNPLANE_ATTEMPT === '1') { console.log('first attempt'); setInterval(() => {}, 1000) } else { console.log('second attempt') }";
    const { job } = await parts.service.submit({ command: ['node', '-e', script], maxAttempts: 2 }, LOCAL_CALLER);
    const child = spawn(process.execPath, ['bin/runplane.js', 'worker', '--queue', 'default'], {
      env: { ...process.env, ...runtimeConfigToEnv(runtimeConfig()) },
      stdio: 'ignore',
    });
    try {
      const running = await waitForJob(parts.store, job.id, (j) => j.state === 'RUNNING', 20_000);
      // Killed once its first line is stored, however slow the machine: the kill must not race the flush.
      for (let deadline = Date.now() + 20_000; (await logs(job.id, 1)) !== 'first attempt\n'; ) {
        if (Date.now() > deadline) throw new Error('the first attempt never stored its output');
        await new Promise((r) => setTimeout(r, 50));
      }
      child.kill('SIGKILL');
      // The killed worker's job process is in its own group; on ECS the container would take it down.
      const pid = (await parts.events.list({ jobId: job.id, attempt: 1, limit: 5 })).events.find((e) => e.kind === 'lifecycle')?.details.pid;
      if (typeof pid === 'number') process.kill(-pid, 'SIGKILL');
      expect(running.attempt).toBe(1);
      startWorker();
      const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 20_000);
      expect(done).toMatchObject({ state: 'SUCCEEDED', attempt: 2 });
      expect(done.attempts[0]?.reason).toMatch(/lost \(lease expired/);
      expect(await logs(job.id, 1)).toBe('first attempt\n');
      expect(await logs(job.id, 2)).toBe('second attempt\n');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a worker lost on the last attempt fails the job with the reason, via the reaper', async () => {
    const { job } = await parts.service.submit({ command: ['true'] }, LOCAL_CALLER);
    const t0 = new Date();
    await parts.store.claimAttempt({
      jobId: job.id, group: job.group, workerId: 'ghost', leaseId: 'ghost-lease', leaseExpiresAt: t0.getTime() - 120_000, expectedAttempt: 0, now: t0,
    });
    const report = await sweep({ store: parts.store, jobs: parts.service, queue: parts.queue }, ['default'], {
      dispatchGraceSeconds: 600,
      leaseGraceSeconds: 60,
    });
    expect(report.recovered).toContainEqual({ jobId: job.id, state: 'FAILED' });
    const failed = await parts.store.getJob(job.id);
    expect(failed).toMatchObject({ state: 'FAILED' });
    expect(failed?.reason).toMatch(/worker ghost lost/);
  });

  it('retries failed attempts with backoff up to maxAttempts, keeping each attempt apart', async () => {
    startWorker();
    const { job } = await parts.service.submit(
      { command: ['node', '-e', "console.log('attempt ' + process.env.RUNPLANE_ATTEMPT); process.exit(3)"], maxAttempts: 3, retryDelaySeconds: 1 },
      LOCAL_CALLER,
    );
    const waiting = await waitForJob(parts.store, job.id, (j) => j.state === 'QUEUED' && j.attempt === 1, 10_000);
    expect(waiting.retryAt).not.toBeNull();
    expect((await parts.service.describe(job.id, LOCAL_CALLER)).waiting?.message).toMatch(/retry backoff until/);
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 20_000);
    expect(done).toMatchObject({ state: 'FAILED', attempt: 3, exitCode: 3, reason: 'exited with code 3' });
    expect(done.attempts.map((a) => a.exitCode)).toEqual([3, 3, 3]);
    expect(done.history.map((h) => h.to)).toEqual(['QUEUED', 'RUNNING', 'QUEUED', 'RUNNING', 'QUEUED', 'RUNNING', 'FAILED']);
    for (const attempt of [1, 2, 3]) expect(await logs(job.id, attempt)).toBe(`attempt ${attempt}\n`);
  });

  it('retries only what retryOn names: a timeout is final unless TIMED_OUT is listed', async () => {
    startWorker();
    const { job: onlyFour } = await parts.service.submit({ command: ['node', '-e', 'process.exit(3)'], maxAttempts: 3, retryOn: [4] }, LOCAL_CALLER);
    const { job: timeout } = await parts.service.submit(
      { command: ['node', '-e', 'setInterval(() => {}, 1000)'], maxAttempts: 2, timeoutSeconds: 1 },
      LOCAL_CALLER,
    );
    expect(await waitForJob(parts.store, onlyFour.id, (j) => isTerminal(j.state))).toMatchObject({ state: 'FAILED', attempt: 1 });
    expect(await waitForJob(parts.store, timeout.id, (j) => isTerminal(j.state))).toMatchObject({ state: 'TIMED_OUT', attempt: 1 });
  });

  it('POST /retry re-runs a finished job as a new attempt, once per idempotency key', async () => {
    startWorker();
    const { job } = await parts.service.submit({ command: ['node', '-e', "console.log('run ' + process.env.RUNPLANE_ATTEMPT); process.exit(process.env.RUNPLANE_ATTEMPT === '1' ? 1 : 0)"] }, LOCAL_CALLER);
    await waitForJob(parts.store, job.id, (j) => j.state === 'FAILED');
    const retried = await parts.service.retry(job.id, LOCAL_CALLER, { idempotencyKey: 'retry-1' });
    expect(retried).toMatchObject({ state: 'QUEUED', maxAttempts: 2 });
    const replay = await parts.service.retry(job.id, LOCAL_CALLER, { idempotencyKey: 'retry-1' });
    expect(replay.id).toBe(job.id);
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state));
    expect(done).toMatchObject({ state: 'SUCCEEDED', attempt: 2 });
    expect(await logs(job.id, 1)).toBe('run 1\n');
    expect(await logs(job.id, 2)).toBe('run 2\n');
    await expect(parts.service.retry(job.id, LOCAL_CALLER, { idempotencyKey: 'retry-1' })).resolves.toMatchObject({ attempt: 2 });
  });

  it('a poison message lands in the DLQ and its job becomes FAILED with a reason', async () => {
    const { job } = await parts.service.submit({ command: ['true'] }, LOCAL_CALLER);
    // Deliveries that never complete (a worker crashing before it can claim): receive and drop, twice.
    for (let i = 0; i < 2; i++) {
      const got = await parts.queue.receive('default', { maxMessages: 10, waitSeconds: 2, visibilityTimeoutSeconds: 1 });
      expect(got.map((m) => m.jobId)).toContain(job.id);
      await new Promise((r) => setTimeout(r, 1_200));
    }
    // The third receive finds it moved to the DLQ (maxReceiveCount 2).
    expect((await parts.queue.receive('default', { maxMessages: 10, waitSeconds: 1 })).map((m) => m.jobId)).not.toContain(job.id);
    const dlq = new SqsJobQueue({ client: env.sqs, queueUrls: { default: env.queues[0]!.deadLetterUrl } });
    expect(await drainDeadLetters({ store: parts.store }, dlq, 'default')).toBeGreaterThanOrEqual(1);
    const failed = await parts.store.getJob(job.id);
    expect(failed?.state).toBe('FAILED');
    expect(failed?.reason).toMatch(/dead-lettered: its queue message was delivered \d+ time/);
  });

  it('a dead letter of a lost worker\'s attempt retries it when attempts remain, instead of failing it', async () => {
    const { job } = await parts.service.submit({ command: ['node', '-e', "console.log('second life')"], maxAttempts: 2 }, LOCAL_CALLER);
    const t0 = new Date();
    await parts.store.claimAttempt({
      jobId: job.id, group: job.group, workerId: 'vanished', leaseId: 'vanished-lease', leaseExpiresAt: t0.getTime() - 1_000, expectedAttempt: 0, now: t0,
    });
    const outcome = await handleDeadLetter({ store: parts.store, jobs: parts.service }, { jobId: job.id, receiveCount: 2 });
    expect(outcome).toBe('recovered');
    startWorker();
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 15_000);
    expect(done).toMatchObject({ state: 'SUCCEEDED', attempt: 2 });
    expect(done.attempts[0]?.reason).toMatch(/worker vanished lost/);
    // A live attempt's dead letter (a duplicate message) changes nothing. The job is stored
    // without a message of its own, so the worker still running here can never claim it first.
    const live = makeJob();
    await parts.store.createJob(live);
    await parts.store.claimAttempt({
      jobId: live.id, group: live.group, workerId: 'alive', leaseId: 'alive-lease', leaseExpiresAt: Date.now() + 60_000, expectedAttempt: 0, now: new Date(),
    });
    expect(await handleDeadLetter({ store: parts.store, jobs: parts.service }, { jobId: live.id, receiveCount: 6 })).toBe('ignored-live');
    expect((await parts.store.getJob(live.id))?.state).toBe('RUNNING');
  });

  it('drain: a job that finishes within the drain window completes normally', async () => {
    const worker = startWorker();
    const { job } = await parts.service.submit({ command: ['node', '-e', "setTimeout(() => console.log('finished in time'), 800)"] }, LOCAL_CALLER);
    await waitForJob(parts.store, job.id, (j) => j.state === 'RUNNING');
    await worker.stop({ drainSeconds: 10 });
    const done = await parts.store.getJob(job.id);
    expect(done).toMatchObject({ state: 'SUCCEEDED', attempt: 1 });
    expect(await logs(job.id, 1)).toBe('finished in time\n');
  });

  it('explains why a job waits when no worker polls its queue, and lists live workers', async () => {
    const { job } = await parts.service.submit({ command: ['true'] }, LOCAL_CALLER);
    expect((await parts.service.describe(job.id, LOCAL_CALLER)).waiting?.message).toMatch(/no worker has polled queue "default"/);
    const registry = new DynamoDbWorkerRegistry({ client: env.documentClient, tableName: tableName(env.prefix, JOBS_TABLE) });
    const withRegistry = new JobService({ ...parts, registry });
    const worker = startWorker({ registry, reportIntervalSeconds: 0.2 });
    await waitForJob(parts.store, job.id, (j) => isTerminal(j.state));
    const listed = await withRegistry.listWorkers(LOCAL_CALLER);
    expect(listed.find((w) => w.workerId === worker.workerId)).toMatchObject({ pool: 'default', concurrency: 4, draining: false });
    await worker.stop({ drainSeconds: 0 });
    expect((await withRegistry.listWorkers(LOCAL_CALLER)).map((w) => w.workerId)).not.toContain(worker.workerId);
  });
});

