import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LOCAL_CALLER } from '../../core/auth/caller.ts';
import { runtimeConfigToEnv } from '../../core/config.ts';
import { UnknownQueueError } from '../../core/errors.ts';
import { deleteAbandonedInboxes, sweep } from '../../core/maintenance/maintenance.ts';
import { Worker } from '../../core/worker/worker.ts';
import type { WorkerRecord } from '../../core/workers/registry.ts';
import { createTestEnvironment, runtimeConfigFor, type TestEnvironment } from '../support/emulators.ts';
import { FAST_WORKER_OPTIONS, scheduledPlatformParts, waitForJob } from '../support/platform-parts.ts';

/**
 * Worker inboxes (specs/11-scheduling.md, decisions 12 and 21) on fauxqs and DynamoDB Local: the
 * inbox a worker killed outright leaves is deleted by the local sweep and the job it held runs
 * elsewhere; a live worker whose inbox was deleted under it opens it again, and falls back to
 * the pool's shared queue when it keeps losing it, without spinning on errors.
 */
describe('worker inboxes', () => {
  let env: TestEnvironment;
  let parts: ReturnType<typeof scheduledPlatformParts>;
  const workers: Worker[] = [];
  const logs: { message: string; fields?: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment();
    parts = scheduledPlatformParts(env);
  }, 60_000);
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ drainSeconds: 0 })));
  });
  afterAll(async () => {
    await parts?.stop();
    await env?.cleanup();
  });

  const startWorker = () => {
    const worker = new Worker({
      ...parts,
      ...FAST_WORKER_OPTIONS,
      registry: parts.registry,
      reportIntervalSeconds: 0.3,
      scheduler: parts.kicker,
      log: (_level, message, fields) => logs.push({ message, ...(fields ? { fields } : {}) }),
    });
    worker.start();
    workers.push(worker);
    return worker;
  };
  const record = (find: (w: WorkerRecord) => boolean, timeout = 60_000) =>
    vi.waitFor(
      async () => {
        const found = (await parts.registry.listWorkers('default', 60_000, new Date())).find(find);
        if (!found) throw new Error('no such worker record yet');
        return found;
      },
      { timeout, interval: 200 },
    );
  /** Messages on a queue, visible or not (a killed worker's long poll may still have taken one); null: no such queue. */
  const queueExists = (url: string) =>
    env.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] })).then(
      (out) => Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
      () => null,
    );
  const submit = async () => (await parts.service.submit({ command: ['true'] }, LOCAL_CALLER)).job;

  // Break verified: with deleteAbandonedInboxes deleting nothing, the killed worker's inbox is still listed.
  it('the inbox of a worker killed outright is deleted, and the admitted job it held runs on another worker', async () => {
    const workerLog = join(mkdtempSync(join(tmpdir(), 'rp-inbox-worker-')), 'stderr.log');
    const child = spawn(process.execPath, ['bin/runplane.js', 'worker', '--queue', 'default'], {
      env: { ...process.env, ...runtimeConfigToEnv(runtimeConfigFor(env)) },
      stdio: ['ignore', 'ignore', openSync(workerLog, 'w')],
    });
    let dead: WorkerRecord;
    try {
      dead = await record((w) => w.inbox !== undefined).catch((err: unknown) => {
        throw new Error(`${String(err)}; worker log: ${readFileSync(workerLog, 'utf8').slice(-3000)}`, { cause: err });
      });
    } finally {
      child.kill('SIGKILL');
    }
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    // Its record still looks live, so the pass admits the job to its inbox, where no one polls.
    const job = await submit();
    await waitForJob(parts.store, job.id, (j) => j.admittedTo === dead.workerId, 30_000);
    // (The pass sends right after its admit.)
    await vi.waitFor(async () => expect(await queueExists(dead.inbox!)).toBe(1), { timeout: 10_000, interval: 100 });

    const live = startWorker();
    // The local platform's maintenance, with short windows: the admission sweeper, and the
    // stale-inbox sweep (a worker not seen for 3 s is gone here; 5 min by default).
    const deleted: string[] = [];
    const maintenance = setInterval(() => {
      void (async () => {
        await sweep({ store: parts.store, jobs: parts.service, queue: parts.queue }, ['default'], { dispatchGraceSeconds: 2, leaseGraceSeconds: 30 });
        deleted.push(...(await deleteAbandonedInboxes({ queue: parts.queue, registry: parts.registry }, ['default'], 3_000)));
      })().catch(() => undefined);
    }, 1_000);
    try {
      const done = await waitForJob(parts.store, job.id, (j) => j.state === 'SUCCEEDED', 150_000);
      expect(done.attempts.map((a) => a.workerId)).toEqual([live.workerId]);
      await vi.waitFor(() => expect(deleted).toContain(dead.inbox), { timeout: 30_000, interval: 200 });
    } finally {
      clearInterval(maintenance);
    }
    expect(await queueExists(dead.inbox!)).toBeNull();
    const left = (await parts.queue.listInboxes('default')).map((i) => i.address);
    expect(left).not.toContain(dead.inbox);
    // The live worker's own inbox is named by its reports: kept.
    expect(left).toContain((await record((w) => w.workerId === live.workerId)).inbox);
    // Only an inbox of the pool can be deleted this way: never the pool's own queue.
    await expect(parts.queue.deleteInbox('default', env.queues[0]!.url)).rejects.toBeInstanceOf(UnknownQueueError);
    expect(await queueExists(env.queues[0]!.url)).not.toBeNull();
  }, 240_000);

  // Break verified: without the worker's InboxGoneError branch, it logs "receive failed" every second and the job never runs on it.
  it('a live worker whose inbox was deleted opens it again; deleted again at once, it polls the shared queue; it never spins', async () => {
    const worker = startWorker();
    const mine = await record((w) => w.workerId === worker.workerId && w.inbox !== undefined);
    // What the sweep does to a worker that stalled past its window.
    await env.sqs.send(new DeleteQueueCommand({ QueueUrl: mine.inbox }));
    await vi.waitFor(() => expect(logs.map((l) => l.message)).toContain('this worker\'s inbox was deleted; opening it again'), { timeout: 30_000, interval: 100 });
    await vi.waitFor(async () => expect(await queueExists(mine.inbox!)).not.toBeNull(), { timeout: 10_000, interval: 100 });
    expect((await record((w) => w.workerId === worker.workerId)).inbox).toBe(mine.inbox);
    const first = await submit();
    const ran = await waitForJob(parts.store, first.id, (j) => j.state === 'SUCCEEDED', 60_000);
    expect(ran.attempts.map((a) => a.workerId)).toEqual([worker.workerId]);

    // Lost again within a minute of reopening: no more reopening, the pool's queue instead.
    await env.sqs.send(new DeleteQueueCommand({ QueueUrl: mine.inbox }));
    await vi.waitFor(() => expect(logs.map((l) => l.message)).toContain('this worker\'s inbox was deleted again soon after it was reopened; polling the pool\'s queue'), {
      timeout: 30_000,
      interval: 100,
    });
    await record((w) => w.workerId === worker.workerId && w.inbox === undefined, 10_000);
    const second = await submit();
    const alsoRan = await waitForJob(parts.store, second.id, (j) => j.state === 'SUCCEEDED', 60_000);
    expect(alsoRan.attempts.map((a) => a.workerId)).toEqual([worker.workerId]);
    expect(await queueExists(mine.inbox!)).toBeNull();
    // Each loss cost one failed receive, never a loop of them.
    expect(logs.filter((l) => l.message === 'receive failed; backing off')).toEqual([]);
  }, 180_000);
});
