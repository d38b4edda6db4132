import { spawn } from 'node:child_process';
import { GetQueueAttributesCommand, ListQueuesCommand } from '@aws-sdk/client-sqs';
import { existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CALLER } from '../../core/auth/caller.ts';
import { runtimeConfigToEnv } from '../../core/config.ts';
import { ArrayCoordinator } from '../../core/jobs/array-coordinator.ts';
import { newArrayState } from '../../core/jobs/array-progress.ts';
import { isTerminal, type Job } from '../../core/jobs/job.ts';
import { sweep } from '../../core/maintenance/maintenance.ts';
import { queueDefinition } from '../../core/resources.ts';
import { Worker } from '../../core/worker/worker.ts';
import { createTestEnvironment, runtimeConfigFor, type TestEnvironment } from '../support/emulators.ts';
import { makeJob } from '../support/jobs.ts';
import { scheduledPlatformParts, waitForJob } from '../support/platform-parts.ts';

/**
 * Array jobs on the real emulators with real local workers and the scheduler as the local platform
 * runs it: the throttle, the counts, cancel, retry, racing materialisers and a killed worker
 * (specs/12-arrays-and-dependencies.md, "Arrays").
 */
describe('array jobs', () => {
  let env: TestEnvironment;
  let parts: ReturnType<typeof scheduledPlatformParts>;
  const workers: Worker[] = [];
  const logs: { message: string; fields?: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment([queueDefinition('default', { visibilityTimeoutSeconds: 4, maxReceiveCount: 50 })]);
    parts = scheduledPlatformParts(env);
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ drainSeconds: 0 })));
    logs.length = 0;
  });
  afterAll(async () => {
    await parts.stop();
    await env.cleanup();
  });

  /** A worker as worker-dependencies.ts builds one: it advances the array of each child it runs. */
  const startWorker = (concurrency = 4) => {
    const worker = new Worker({
      ...parts,
      pool: 'default',
      concurrency,
      leaseSeconds: 4,
      heartbeatSeconds: 0.3,
      killGraceSeconds: 1,
      pollWaitSeconds: 1,
      flushIntervalMs: 20,
      reportIntervalSeconds: 0.3,
      scheduler: parts.kicker,
      arrays: parts.service.arrays,
      log: (_level, message, fields) => logs.push({ message, ...(fields ? { fields } : {}) }),
    });
    worker.start();
    workers.push(worker);
    return worker;
  };
  const finished = async (parentId: string, timeoutMs = 120_000) => {
    try {
      return await waitForJob(parts.store, parentId, (j) => isTerminal(j.state), timeoutMs);
    } catch (err) {
      // What was left: the parent's counts and every unfinished child.
      const parent = await parts.store.getJob(parentId);
      const left = (await allChildren(parentId)).filter((c) => !isTerminal(c.state)).map((c) => `${c.id} ${c.state} attempt ${c.attempt} lease ${JSON.stringify(c.lease)}`);
      throw new Error(`${String(err)}; counts ${JSON.stringify(parent?.array)}; unfinished: ${left.join("; ")}`, { cause: err });
    }
  };
  const allChildren = async (parentId: string): Promise<Job[]> => {
    const children: Job[] = [];
    let cursor: string | undefined;
    do {
      const page = await parts.service.listChildren(parentId, { limit: '100', ...(cursor ? { cursor } : {}) }, LOCAL_CALLER);
      children.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return children;
  };
  /** Messages on the pool's queue and on its workers' inboxes (`<pool queue>-inbox-…`), visible or not. */
  const messagesInFlight = async () => {
    const poolUrl = env.queues[0]!.url;
    const listed = await env.sqs.send(new ListQueuesCommand({ QueueNamePrefix: poolUrl.slice(poolUrl.lastIndexOf('/') + 1) }));
    let count = 0;
    for (const url of new Set([poolUrl, ...(listed.QueueUrls ?? [])])) {
      const out = await env.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
      count += Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    }
    return count;
  };
  const output = async (jobId: string) => (await parts.service.logs(jobId, {}, LOCAL_CALLER)).bytes.toString('utf8');

  /** The most attempts running at one instant, from their start and finish times. */
  const peakConcurrency = (children: Job[]) => {
    const edges = children.flatMap((c) =>
      c.attempts.flatMap((a) => [
        { at: Date.parse(a.startedAt), delta: 1 },
        { at: Date.parse(a.finishedAt ?? new Date().toISOString()), delta: -1 },
      ]),
    );
    // At one instant, an end comes before a start: the slot is free the moment the child ends.
    edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
    let running = 0;
    let peak = 0;
    for (const edge of edges) peak = Math.max(peak, (running += edge.delta));
    return peak;
  };

  // Break verified: without the throttle condition in the claim's count move, the peak reaches 8.
  it('a 50-child array with parallelism 5 runs every index exactly once, never more than 5 at a time', async () => {
    const script = 'echo "$RUNPLANE_ARRAY_INDEX/$RUNPLANE_ARRAY_SIZE/$RUNPLANE_ARRAY_PARENT/$RUNPLANE_JOB_ID/$RUNPLANE_ATTEMPT"; sleep 0.3';
    const { job } = await parts.service.submit({ command: ['sh', '-c', script], array: { size: 50, parallelism: 5 } }, LOCAL_CALLER);
    expect(job).toMatchObject({ state: 'QUEUED', array: { size: 50, parallelism: 5 } });
    // Every child is counted at once, though only the first few are materialised.
    expect(job.array?.status).toMatchObject({ total: 50, QUEUED: 50 });
    expect(job.array!.materialised).toBeLessThanOrEqual(5 + 2);
    startWorker();
    startWorker();

    const done = await finished(job.id);
    expect(done.state).toBe('SUCCEEDED');
    expect(done.array?.status).toEqual({ total: 50, QUEUED: 0, RUNNING: 0, SUCCEEDED: 50, FAILED: 0, CANCELLED: 0, TIMED_OUT: 0 });
    const children = await allChildren(job.id);
    expect(children.map((c) => c.arrayChild?.index)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    for (const child of children) {
      expect(child).toMatchObject({ state: 'SUCCEEDED', attempt: 1, group: job.group, owner: job.owner });
      expect(child.attempts).toHaveLength(1);
    }
    const outputs = await Promise.all(children.map((c) => output(c.id)));
    expect(outputs).toEqual(children.map((c) => `${c.arrayChild!.index}/50/${job.id}/${c.id}/1\n`));
    expect(peakConcurrency(children)).toBeLessThanOrEqual(5);
    expect(peakConcurrency(children)).toBeGreaterThan(1);
    // The scheduler admitted only children the throttle had room for: no worker received one it
    // could not claim (which would have cost a receive and a round trip back to pending).
    expect(logs.filter((l) => l.message === 'claim refused by a capacity limit')).toEqual([]);
  }, 240_000);

  // Break verified: without the ArrayThrottle check in decideAdmissions, the waiting children are
  // admitted (their messages sent) and their claims refused.
  it('a child beyond the parallelism waits with ArrayThrottle, unadmitted and without a message', async () => {
    startWorker();
    const { job } = await parts.service.submit({ command: ['sleep', '30'], array: { size: 6, parallelism: 1 } }, LOCAL_CALLER);
    // Cancelled whatever the outcome: its children would otherwise hold the group's later tests back.
    try {
      await waitForJob(parts.store, job.id, (j) => j.array?.status.RUNNING === 1, 60_000);
      // Several passes (one a second, one per kick) while child 0 runs.
      await new Promise((r) => setTimeout(r, 4_000));
      const children = await allChildren(job.id);
      const waiting = children.filter((c) => c.state === 'QUEUED');
      // The parallelism plus the look-ahead are materialised; the rest are only counted.
      expect(children).toHaveLength(1 + 2);
      expect(waiting).toHaveLength(2);
      for (const child of waiting) {
        expect(child).toMatchObject({ attempt: 0, admittedAt: null });
        const { waiting: why } = await parts.service.describe(child.id, LOCAL_CALLER);
        expect(why).toMatchObject({ code: 'ArrayThrottle', position: null });
        expect(why!.message).toMatch(new RegExp(`array ${job.id} already runs 1 of its children at once, its parallelism is 1`));
      }
      expect(await messagesInFlight()).toBe(1);
      expect(logs.filter((l) => l.message === 'claim refused by a capacity limit')).toEqual([]);
    } finally {
      await parts.service.cancel(job.id, LOCAL_CALLER);
    }
    await waitForJob(parts.store, job.id, (j) => j.array!.status.QUEUED + j.array!.status.RUNNING === 0, 30_000);
  }, 120_000);

  // Break verified: without cancelUnfinishedChildren in the cancel, running children run on.
  it('a cancel of a running 200-child array leaves no child running or queued within 10 s', async () => {
    startWorker();
    startWorker();
    const { job } = await parts.service.submit({ command: ['sleep', '60'], array: { size: 200 } }, LOCAL_CALLER);
    await waitForJob(parts.store, job.id, (j) => (j.array?.status.RUNNING ?? 0) >= 4, 60_000);
    const t0 = Date.now();
    const cancelled = await parts.service.cancel(job.id, LOCAL_CALLER);
    expect(cancelled.state).toBe('CANCELLED');
    const settled = await waitForJob(parts.store, job.id, (j) => j.array!.status.QUEUED + j.array!.status.RUNNING === 0, 10_000);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(settled.array?.status).toMatchObject({ total: 200, QUEUED: 0, RUNNING: 0, CANCELLED: 200 });
    const children = await allChildren(job.id);
    expect(children.filter((c) => !isTerminal(c.state))).toEqual([]);
    // None is materialised after the cancel.
    const after = await parts.store.getJob(job.id);
    expect(after?.array?.materialised).toBe(children.length);
  }, 120_000);

  // Break verified: with retryArray retrying every child (states unfiltered), the succeeded ones run twice.
  it('a failed child marks the parent FAILED; retrying the parent re-runs that child only', async () => {
    startWorker();
    const marker = join(mkdtempSync(join(tmpdir(), 'rp-array-')), 'fixed');
    const script = `[ "$RUNPLANE_ARRAY_INDEX" != 2 ] || [ -e '${marker}' ]`;
    const { job } = await parts.service.submit({ command: ['sh', '-c', script], array: { size: 4, parallelism: 2 } }, LOCAL_CALLER);
    const failed = await finished(job.id);
    expect(failed.state).toBe('FAILED');
    expect(failed.reason).toMatch(/1 of 4 children did not succeed \(1 FAILED\)/);
    expect(failed.array?.status).toMatchObject({ SUCCEEDED: 3, FAILED: 1 });

    writeFileSync(marker, '');
    expect(existsSync(marker)).toBe(true);
    await parts.service.retry(job.id, LOCAL_CALLER);
    const done = await waitForJob(parts.store, job.id, (j) => j.state === 'SUCCEEDED', 60_000);
    expect(done.array?.status).toMatchObject({ SUCCEEDED: 4, FAILED: 0 });
    const children = await allChildren(job.id);
    expect(children.map((c) => c.attempts.length)).toEqual([1, 1, 2, 1]);
  }, 180_000);

  // Break verified: without the cursor condition in materialiseArrayChildren, both racers write and dispatch.
  it('materialises each child exactly once under two racing materialisers', async () => {
    const parent: Job = makeJob({ array: newArrayState({ size: 300, parallelism: null, indices: null }) });
    await parts.store.createJob(parent);
    const dispatched: string[] = [];
    const racer = () => new ArrayCoordinator({ store: parts.store, dispatch: async (j) => void dispatched.push(j.id) });
    const results = await Promise.all([racer().advance(parent.id), racer().advance(parent.id), racer().advance(parent.id)]);
    expect(results.reduce((n, r) => n + r.materialised, 0)).toBe(300);
    expect(dispatched).toHaveLength(300);
    expect(new Set(dispatched).size).toBe(300);
    const children = await allChildren(parent.id);
    expect(children.map((c) => c.arrayChild?.index)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect((await parts.store.getJob(parent.id))?.array?.materialised).toBe(300);
    // Its children are pending like any: cancelled, so the scheduler does not run them behind the next tests.
    await parts.service.arrays.cancel((await parts.store.getJob(parent.id))!, 'test');
  }, 120_000);

  // Break verified: with childDependencies mapping nothing (children without dependsOn), B-2 runs
  // and B-0 starts before A-0 ends; with the parent held on the whole of A, B-0 starts after A-3.
  it('aftercorr: child i of B waits for child i of A only; a failed partner fails that child alone', async () => {
    startWorker(6);
    // A-2 fails; A-3 runs long, so a B child paired with an earlier A child starts well before it ends.
    const a = (
      await parts.service.submit(
        { command: ['sh', '-c', 'case "$RUNPLANE_ARRAY_INDEX" in 2) exit 1;; 3) sleep 8;; *) sleep 0.5;; esac'], array: { size: 4 }, maxAttempts: 1 },
        LOCAL_CALLER,
      )
    ).job;
    const b = (await parts.service.submit({ command: ['true'], array: { size: 4 }, dependsOn: [{ job: a.id, type: 'aftercorr' }] }, LOCAL_CALLER)).job;
    // The parent is not held on A as a whole: each child is held on its partner.
    expect(b.hold).toBeNull();
    const done = await finished(b.id);
    const aDone = await finished(a.id);
    expect(done.state).toBe('FAILED');
    expect(done.array?.status).toMatchObject({ SUCCEEDED: 3, FAILED: 1, QUEUED: 0, RUNNING: 0 });
    const [aKids, bKids] = [await allChildren(a.id), await allChildren(b.id)];
    for (const i of [0, 1, 3]) {
      expect(bKids[i]).toMatchObject({ state: 'SUCCEEDED', dependsOn: [{ job: `${a.id}-${i}`, type: 'afterok' }] });
      expect(bKids[i]!.startedAt! >= aKids[i]!.finishedAt!, `B-${i} started before A-${i} ended`).toBe(true);
    }
    expect(bKids[0]!.startedAt! < aKids[3]!.finishedAt!, 'B-0 waited for more than A-0').toBe(true);
    expect(bKids[2]).toMatchObject({ state: 'FAILED', attempt: 0, reasonCode: 'DEPENDENCY_NEVER_SATISFIED' });
    expect(bKids[2]!.reason).toMatch(new RegExp(`afterok:${a.id}-2 can never be satisfied: it ended FAILED`));
    expect(aDone.array?.status).toMatchObject({ SUCCEEDED: 3, FAILED: 1 });
  }, 180_000);

  it('aftercorr needs an array partner at least as large: otherwise 400 naming it', async () => {
    const single = (await parts.service.submit({ command: ['true'] }, LOCAL_CALLER)).job;
    const small = (await parts.service.submit({ command: ['true'], array: { size: 2 } }, LOCAL_CALLER)).job;
    await expect(parts.service.submit({ command: ['true'], array: { size: 3 }, dependsOn: [{ job: single.id, type: 'aftercorr' }] }, LOCAL_CALLER)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(new RegExp(`job ${single.id} is not an array`)),
    });
    await expect(parts.service.submit({ command: ['true'], array: { size: 3 }, dependsOn: [{ job: small.id, type: 'aftercorr' }] }, LOCAL_CALLER)).rejects.toMatchObject({
      message: expect.stringMatching(/has 2 children, fewer than this array's 3/),
    });
    await parts.service.cancel(small.id, LOCAL_CALLER).catch(() => undefined);
  }, 60_000);

  it('SIGKILL of a worker during an array loses no child', async () => {
    const { job } = await parts.service.submit(
      { command: ['sh', '-c', 'sleep 1; echo "$RUNPLANE_ARRAY_INDEX"'], array: { size: 12, parallelism: 4 }, maxAttempts: 3 },
      LOCAL_CALLER,
    );
    // Its log goes to a file, shown when it never starts a child.
    const workerLog = join(mkdtempSync(join(tmpdir(), 'rp-array-worker-')), 'stderr.log');
    const child = spawn(process.execPath, ['bin/runplane.js', 'worker', '--queue', 'default'], {
      env: { ...process.env, ...runtimeConfigToEnv(runtimeConfigFor(env)) },
      stdio: ['ignore', 'ignore', openSync(workerLog, 'w')],
    });
    try {
      await waitForJob(parts.store, job.id, (j) => (j.array?.status.RUNNING ?? 0) >= 1, 90_000).catch((err: unknown) => {
        throw new Error(`${String(err)}; worker log: ${readFileSync(workerLog, 'utf8').slice(-3000)}`, { cause: err });
      });
      child.kill('SIGKILL');
      // The killed worker's job processes are in their own groups; on ECS the container would take them down.
      for (const c of await allChildren(job.id)) {
        if (c.state !== 'RUNNING') continue;
        const pid = (await parts.events.list({ jobId: c.id, attempt: c.attempt, limit: 5 })).events.find((e) => e.kind === 'lifecycle')?.details.pid;
        if (typeof pid === 'number') {
          try {
            process.kill(-pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
      }
      startWorker();
      // The reaper (the sweep) recovers lost attempts whose message did not come back; the array's own sweep continues it.
      const timer = setInterval(() => void sweep({ store: parts.store, jobs: parts.service, queue: parts.queue }, ['default'], { dispatchGraceSeconds: 5, leaseGraceSeconds: 1 }).catch(() => undefined), 2000);
      try {
        const done = await finished(job.id, 150_000);
        expect(done.state).toBe('SUCCEEDED');
        expect(done.array?.status).toMatchObject({ total: 12, SUCCEEDED: 12, QUEUED: 0, RUNNING: 0 });
      } finally {
        clearInterval(timer);
      }
      const children = await allChildren(job.id);
      expect(children.map((c) => c.arrayChild?.index)).toEqual(Array.from({ length: 12 }, (_, i) => i));
      expect(children.some((c) => c.attempts.length > 1 && /lost/.test(c.attempts[0]?.reason ?? ''))).toBe(true);
      for (const c of children) expect(await output(c.id)).toBe(`${c.arrayChild!.index}\n`);
    } finally {
      child.kill('SIGKILL');
    }
  }, 240_000);
});
