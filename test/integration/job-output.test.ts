import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CALLER } from '../../core/auth/caller.ts';
import { isTerminal } from '../../core/jobs/job.ts';
import { Worker } from '../../core/worker/worker.ts';
import { createTestEnvironment, type TestEnvironment } from '../support/emulators.ts';
import { FAST_WORKER_OPTIONS, platformParts, waitForJob } from '../support/platform-parts.ts';

/** Output capture end to end: real processes, a real worker, DynamoDB Local and fauxqs. */
describe('job output: complete and exact', () => {
  let env: TestEnvironment;
  let parts: ReturnType<typeof platformParts>;
  let worker: Worker;

  beforeAll(async () => {
    env = await createTestEnvironment();
    parts = platformParts(env);
    worker = new Worker({
      ...parts,
      ...FAST_WORKER_OPTIONS,
      // Not the test runner's environment: it may set PYTHONUNBUFFERED itself.
      baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' },
    });
    worker.start();
  });
  afterAll(async () => {
    await worker.stop({ drainSeconds: 0 });
    await env.cleanup();
  });

  const run = async (command: string[], env: Record<string, string> = {}) => {
    const { job } = await parts.service.submit({ command, env }, LOCAL_CALLER);
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 60_000);
    const logs = await parts.service.logs(job.id, {}, LOCAL_CALLER);
    return { done, bytes: logs.bytes };
  };

  it('stores all 2,000 lines of a Node program that calls process.exit(3) right after printing them', async () => {
    const { done, bytes } = await run(['node', '-e', 'for (let i = 0; i < 2000; i++) console.log(`line ${i} ${"x".repeat(60)}`); process.exit(3)']);
    expect(done).toMatchObject({ state: 'FAILED', exitCode: 3 });
    const expected = Array.from({ length: 2000 }, (_v, i) => `line ${i} ${'x'.repeat(60)}\n`).join('');
    expect(bytes.toString('utf8')).toBe(expected);
  });

  it('returns all 256 byte values exactly as written', async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_v, i) => i));
    const { done, bytes } = await run(['node', '-e', `process.stdout.write(Buffer.from(${JSON.stringify([...all])}))`]);
    expect(done.state).toBe('SUCCEEDED');
    expect(bytes.toString('hex')).toBe(all.toString('hex'));
  });

  it('keeps a partial last line and output written by the job’s children after it exited', async () => {
    const { done, bytes } = await run(['sh', '-c', "(sleep 0.3; printf 'late child\\n') & printf 'first\\nno newline at the end'"]);
    expect(done.state).toBe('SUCCEEDED');
    expect(bytes.toString('utf8')).toBe('first\nno newline at the endlate child\n');
  });

  it('shows the first line of a Python job while it still runs (PYTHONUNBUFFERED)', async () => {
    const { job } = await parts.service.submit({ command: ['python3', '-c', "import time\nprint('first line')\ntime.sleep(60)"] }, LOCAL_CALLER);
    await waitForJob(parts.store, job.id, (j) => j.state === 'RUNNING', 30_000);
    const deadline = Date.now() + 30_000;
    let seen = '';
    while (Date.now() < deadline) {
      seen = (await parts.service.logs(job.id, {}, LOCAL_CALLER)).bytes.toString('utf8');
      if (seen !== '') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen).toBe('first line\n');
    expect((await parts.store.getJob(job.id))?.state).toBe('RUNNING');
    await parts.service.cancel(job.id, LOCAL_CALLER);
    await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 30_000);
  });

  it('lets the job set PYTHONUNBUFFERED itself', async () => {
    const { bytes } = await run(['python3', '-c', "import os; print(os.environ['PYTHONUNBUFFERED'])"], { PYTHONUNBUFFERED: '' });
    expect(bytes.toString('utf8')).toBe('\n');
  });
});

/** Output follows attention (specs/05-output-batching.md, decision 16), with a real worker. */
describe('job output: stored at once while followed, in larger batches while not', () => {
  let env: TestEnvironment;
  let parts: ReturnType<typeof platformParts>;
  let worker: Worker;

  beforeAll(async () => {
    env = await createTestEnvironment();
    parts = platformParts(env);
    // Followed output within 20 ms; unfollowed output would wait a minute.
    worker = new Worker({ ...parts, ...FAST_WORKER_OPTIONS, unwatchedFlushIntervalMs: 60_000 });
    worker.start();
  });
  afterAll(async () => {
    await worker.stop({ drainSeconds: 0 });
    await env.cleanup();
  });

  const storedOutput = async (jobId: string) =>
    (await parts.events.list({ jobId, attempt: 1, afterSeq: 0, limit: 100 })).events
      .map((e) => (e.kind === 'output' ? e.data : ''))
      .join('');

  it('holds a running job’s output until someone reads its events, then streams it', async () => {
    const { job } = await parts.service.submit({ command: ['sh', '-c', 'echo one; sleep 60'] }, LOCAL_CALLER);
    await waitForJob(parts.store, job.id, (j) => j.state === 'RUNNING', 30_000);
    // Read behind the API's back (a read through it would mark the job followed): nothing yet.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await storedOutput(job.id)).toBe('');

    // A follower: the worker sees the mark on its next status check and writes at once.
    const deadline = Date.now() + 20_000;
    let seen = '';
    while (seen === '' && Date.now() < deadline) {
      const page = await parts.service.listEvents(job.id, {}, LOCAL_CALLER);
      seen = page.events.map((e) => (e.kind === 'output' ? e.data : '')).join('');
      if (seen === '') await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen).toBe('one\n');
    expect((await parts.store.getJob(job.id))?.outputWatchedUntil).toBeGreaterThan(Date.now());
    await parts.service.cancel(job.id, LOCAL_CALLER);
    await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 30_000);
    // Nothing lost by the wait: the whole output is there once the job ended.
    expect(await storedOutput(job.id)).toBe('one\n');
  });
});
