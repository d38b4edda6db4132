import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CALLER } from '../../core/auth/caller.ts';
import { isTerminal, type Job } from '../../core/jobs/job.ts';
import { recoverLostAttempt } from '../../core/jobs/recovery.ts';
import type { FinishRequest, JobStore } from '../../core/jobs/store.ts';
import type { JobQueue, ReceivedJobMessage } from '../../core/queue/job-queue.ts';
import { queueDefinition } from '../../core/resources.ts';
import type { Gpu } from '../../core/worker/gpus.ts';
import { Worker, type WorkerOptions } from '../../core/worker/worker.ts';
import { createTestEnvironment, type TestEnvironment } from '../support/emulators.ts';
import { platformParts, waitForJob } from '../support/platform-parts.ts';

/**
 * Each test here guards one line of the worker whose removal the rest of the suite would not
 * notice (issue 8, defect 5); the comment on each names the break it was verified against.
 * Waits are on the worker's own signals (its log, the queue's ack, the store's writes), not on time.
 */
describe('worker faults on DynamoDB Local and fauxqs', () => {
  let env: TestEnvironment;
  let parts: ReturnType<typeof platformParts>;
  let dir: string;
  const workers: Worker[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment([queueDefinition('default', { visibilityTimeoutSeconds: 3, maxReceiveCount: 5 })]);
    parts = platformParts(env);
    dir = await mkdtemp(join(tmpdir(), 'runplane-faults-'));
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ drainSeconds: 0 })));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await env.cleanup();
  });

  /** Resolves on the first worker log line with this message. */
  function logWatcher() {
    const seen: { message: string; fields: Record<string, unknown> | undefined }[] = [];
    const waiters: { message: string; resolve: () => void }[] = [];
    return {
      log: (_level: string, message: string, fields?: Record<string, unknown>) => {
        seen.push({ message, fields });
        for (const w of waiters.filter((x) => x.message === message)) w.resolve();
      },
      waitFor: (message: string) =>
        seen.some((s) => s.message === message) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ message, resolve })),
      seen,
    };
  }

  const startWorker = (overrides: Partial<WorkerOptions> = {}) => {
    const worker = new Worker({
      ...parts,
      pool: 'default',
      concurrency: 2,
      leaseSeconds: 3,
      heartbeatSeconds: 0.3,
      killGraceSeconds: 1,
      pollWaitSeconds: 1,
      flushIntervalMs: 20,
      ...overrides,
    });
    worker.start();
    workers.push(worker);
    return worker;
  };

  /** A job that waits for `file` to exist, then exits with `code` (the test decides when). */
  const waitForFile = (file: string, code: number) =>
    [
      'node',
      '-e',
      `const fs = require('fs'); console.log('waiting'); const t = setInterval(() => { if (fs.existsSync(${JSON.stringify(file)})) { clearInterval(t); process.exit(${code}) } }, 20)`,
    ] as const;

  // Break verified: the requeue condition without `AND cancelRequested = :false`
  // (core/jobs/dynamodb-store.ts requeueAttempt) lets the cancelled job run a second attempt.
  it('a cancel that arrives while a failing attempt ends is final: the job never runs again', async () => {
    const release = join(dir, 'cancel-during-retry');
    // A heartbeat far apart, so the worker does not see the cancel before the attempt ends: it
    // decides on a retry and the store must refuse the requeue.
    startWorker({ leaseSeconds: 30, heartbeatSeconds: 10 });
    const { job } = await parts.service.submit({ command: [...waitForFile(release, 1)], maxAttempts: 3, retryDelaySeconds: 1 }, LOCAL_CALLER);
    await waitForJob(parts.store, job.id, (j) => j.state === 'RUNNING');
    const requested = await parts.service.cancel(job.id, LOCAL_CALLER);
    expect(requested).toMatchObject({ state: 'RUNNING', cancelRequested: true });
    await writeFile(release, '');
    const done = await waitForJob(parts.store, job.id, (j) => j.state !== 'RUNNING', 20_000);
    expect(done).toMatchObject({ state: 'CANCELLED', attempt: 1, reason: 'cancelled by local' });
    expect(done.history.map((h) => h.to)).toEqual(['QUEUED', 'RUNNING', 'CANCELLED']);
  });

  // Break verified: `await batcher.close()` moved after `store.finishAttempt` (core/worker/worker.ts).
  it('stores every output line before the final state: a finished job has all its output', async () => {
    const seenAtFinish: string[] = [];
    // The finish call reads what is stored at that moment: a reader polling the job would see this.
    const store: JobStore = Object.assign(Object.create(parts.store) as JobStore, {
      finishAttempt: async (request: FinishRequest): Promise<Job> => {
        const page = await parts.events.list({ jobId: request.jobId, attempt: request.attempt, limit: 100 });
        seenAtFinish.push(page.events.flatMap((e) => (e.kind === 'output' ? [e.data] : [])).join(''));
        return parts.store.finishAttempt(request);
      },
    });
    // Nothing is flushed by the timer: only the close before the finish stores the output.
    startWorker({ store, flushIntervalMs: 60_000 });
    const { job } = await parts.service.submit({ command: ['node', '-e', "console.log('last words')"] }, LOCAL_CALLER);
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state));
    expect(done.state).toBe('SUCCEEDED');
    expect(seenAtFinish).toEqual(['last words\n']);
  });

  // Break verified: `this.gpus.release(gpuIndices)` removed from Worker.handle's finally.
  it('gives a finished job\'s GPU to the next job', async () => {
    const gpu: Gpu = { index: 0, uuid: 'GPU-fake-0', name: 'Fake GPU', memoryTotalMiB: 1024, memoryUsedMiB: 0, utilizationPercent: null };
    startWorker({ gpus: [gpu] });
    for (const run of [1, 2, 3]) {
      const { job } = await parts.service.submit({ command: ['node', '-e', `console.log(${run})`], resources: { gpus: 1 } }, LOCAL_CALLER);
      const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 20_000);
      expect(done.state, `job ${run}`).toBe('SUCCEEDED');
    }
  });

  // Break verified: `batcher.abort()` replaced by `await batcher.close()` in the lease-lost branch.
  it('a worker that lost its lease writes nothing more: its buffered output is dropped, the new attempt is untouched', async () => {
    const watcher = logWatcher();
    // Output stays buffered (no timer flush), so a flush after losing the lease would be visible.
    const worker = startWorker({ leaseSeconds: 3, heartbeatSeconds: 0.3, flushIntervalMs: 60_000, log: watcher.log });
    const { job } = await parts.service.submit(
      { command: ['node', '-e', "setInterval(() => console.log('tick'), 50)"], maxAttempts: 3 },
      LOCAL_CALLER,
    );
    const running = await waitForJob(parts.store, job.id, (j) => j.state === 'RUNNING' && j.lease?.workerId === worker.workerId);
    // Another party takes the job: recovery as if the lease had run out, then a new claim.
    const later = () => new Date(running.lease!.expiresAt + 60_000);
    const recovered = await recoverLostAttempt(parts.store, running, later, 'system:test');
    expect(recovered).toMatchObject({ state: 'QUEUED', attempt: 1 });
    await parts.store.claimAttempt({
      jobId: job.id, group: job.group, workerId: 'usurper', leaseId: 'usurper-lease', leaseExpiresAt: Date.now() + 60_000, expectedAttempt: 1, now: new Date(),
    });
    await watcher.waitFor('lease lost; attempt abandoned');
    const abandoned = watcher.seen.find((s) => s.message === 'lease lost; attempt abandoned');
    expect(abandoned?.fields?.droppedEvents).toBeGreaterThan(0);
    expect((await parts.events.list({ jobId: job.id, attempt: 1, limit: 100 })).events).toEqual([]);
    expect(await parts.store.getJob(job.id)).toMatchObject({ state: 'RUNNING', attempt: 2, lease: { id: 'usurper-lease', workerId: 'usurper' } });
    // Clean up the usurper's attempt so later tests' workers are not held up by it.
    await parts.store.finishAttempt({ jobId: job.id, group: job.group, leaseId: 'usurper-lease', attempt: 2, to: 'SUCCEEDED', exitCode: 0, reason: 'test', now: new Date() });
  });

  // Break verified: `await queue.ack(message)` after the final state removed from runAttempt.
  it('deletes the message of a finished job with the delivery that ran it', async () => {
    const acked: ReceivedJobMessage[] = [];
    const ackedFinished = new Map<string, () => void>();
    const queue: JobQueue = Object.assign(Object.create(parts.queue) as JobQueue, {
      ack: async (message: ReceivedJobMessage) => {
        await parts.queue.ack(message);
        acked.push(message);
        ackedFinished.get(message.jobId)?.();
      },
    });
    startWorker({ queue });
    const { job } = await parts.service.submit({ command: ['true'] }, LOCAL_CALLER);
    const ackedJob = new Promise<void>((resolve) => ackedFinished.set(job.id, resolve));
    await waitForJob(parts.store, job.id, (j) => isTerminal(j.state));
    // Without the delete, the message would come back after its visibility and only that second
    // delivery would be deleted (by a worker finding the job finished).
    await ackedJob;
    expect(acked.filter((m) => m.jobId === job.id).map((m) => m.receiveCount)).toEqual([1]);
  });
});
