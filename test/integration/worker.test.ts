import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CALLER } from '../../core/auth/caller.ts';
import { isTerminal } from '../../core/jobs/job.ts';
import { Worker } from '../../core/worker/worker.ts';
import { createTestEnvironment, type TestEnvironment } from '../support/emulators.ts';
import { FAST_WORKER_OPTIONS, platformParts, waitForJob } from '../support/platform-parts.ts';

describe('Worker on DynamoDB Local and fauxqs', () => {
  let env: TestEnvironment;
  let parts: ReturnType<typeof platformParts>;
  let worker: Worker | undefined;

  beforeAll(async () => {
    env = await createTestEnvironment();
    parts = platformParts(env);
  });
  afterEach(async () => {
    await worker?.stop({ drainSeconds: 0 });
    worker = undefined;
  });
  afterAll(async () => env.cleanup());

  const startWorker = (overrides: Partial<ConstructorParameters<typeof Worker>[0]> = {}) => {
    worker = new Worker({
      ...parts,
      ...FAST_WORKER_OPTIONS,
      ...overrides,
    });
    worker.start();
    return worker;
  };

  const outputOf = async (jobId: string, attempt = 1) => {
    const logs = await parts.service.logs(jobId, { attempt: String(attempt) }, LOCAL_CALLER);
    return logs.bytes.toString('utf8');
  };

  it('runs a job from its argv without a shell and stores stdout, stderr and the exit code', async () => {
    startWorker();
    const { job } = await parts.service.submit(
      {
        command: ['node', '-e', "console.log('out 1'); console.error('err $HOME'); console.log('out 2'); process.exit(3)"],
        env: { GREETING: 'hello' },
      },
      LOCAL_CALLER,
    );
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state));
    expect(done).toMatchObject({ state: 'FAILED', exitCode: 3, reason: 'exited with code 3', attempt: 1 });
    expect(done.history.map((h) => h.to)).toEqual(['QUEUED', 'RUNNING', 'FAILED']);
    const page = await parts.events.list({ jobId: job.id, attempt: 1, limit: 100 });
    const output = page.events.filter((e) => e.kind === 'output');
    expect(output.filter((e) => e.stream === 'stdout').map((e) => e.data).join('')).toBe('out 1\nout 2\n');
    expect(output.filter((e) => e.stream === 'stderr').map((e) => e.data).join('')).toBe('err $HOME\n');
    expect(page.events.map((e) => e.seq)).toEqual(page.events.map((_, i) => i + 1));
    expect(page.events[0]).toMatchObject({ kind: 'lifecycle', name: 'started' });
    expect(page.events.at(-1)).toMatchObject({ kind: 'lifecycle', name: 'exited', details: { exitCode: 3 } });
  });

  it('passes the job env and its own identity, but not the worker secrets', async () => {
    process.env.AWS_SECRET_ACCESS_KEY = 'worker-secret';
    startWorker();
    const { job } = await parts.service.submit(
      {
        command: ['node', '-e', 'console.log([process.env.GREETING, process.env.RUNPLANE_JOB_ID, process.env.AWS_SECRET_ACCESS_KEY ?? "none"].join(" "))'],
        env: { GREETING: 'hello' },
      },
      LOCAL_CALLER,
    );
    await waitForJob(parts.store, job.id, (j) => j.state === 'SUCCEEDED');
    expect(await outputOf(job.id)).toBe(`hello ${job.id} none\n`);
    delete process.env.AWS_SECRET_ACCESS_KEY;
  });

  it('fails a job whose program does not exist, with the reason', async () => {
    startWorker();
    const { job } = await parts.service.submit({ command: ['/nonexistent/program-xyz'] }, LOCAL_CALLER);
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state));
    expect(done.state).toBe('FAILED');
    expect(done.reason).toMatch(/could not start: .*ENOENT/);
  });

  it('cancels a running job: the process group is killed within a heartbeat and the job ends CANCELLED', async () => {
    startWorker();
    const { job } = await parts.service.submit(
      { command: ['node', '-e', "console.log('started'); setInterval(() => {}, 1000)"] },
      LOCAL_CALLER,
    );
    await waitForJob(parts.store, job.id, (j) => j.state === 'RUNNING');
    await new Promise((r) => setTimeout(r, 300));
    const requested = await parts.service.cancel(job.id, LOCAL_CALLER);
    expect(requested).toMatchObject({ state: 'RUNNING', cancelRequested: true });
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 5_000);
    expect(done).toMatchObject({ state: 'CANCELLED', reason: 'cancelled by local' });
    expect(await outputOf(job.id)).toBe('started\n');
  });

  it('times a job out: SIGTERM, then SIGKILL when ignored, state TIMED_OUT', async () => {
    startWorker();
    const { job } = await parts.service.submit(
      { command: ['node', '-e', "process.on('SIGTERM', () => console.log('ignoring TERM')); setInterval(() => {}, 1000)"], timeoutSeconds: 1 },
      LOCAL_CALLER,
    );
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 10_000);
    expect(done).toMatchObject({ state: 'TIMED_OUT', reason: 'timed out after 1 s' });
    expect(await outputOf(job.id)).toBe('ignoring TERM\n');
  });

  it('never starts a job cancelled while queued', async () => {
    const { job } = await parts.service.submit({ command: ['node', '-e', "console.log('must not run')"] }, LOCAL_CALLER);
    const cancelled = await parts.service.cancel(job.id, LOCAL_CALLER);
    expect(cancelled.state).toBe('CANCELLED');
    startWorker();
    // The worker receives the message, sees a terminal job and deletes it.
    await new Promise((r) => setTimeout(r, 1_500));
    const after = await parts.store.getJob(job.id);
    expect(after).toMatchObject({ state: 'CANCELLED', attempt: 0 });
    expect((await parts.events.list({ jobId: job.id, attempt: 1, limit: 10 })).events).toEqual([]);
  });

  it('hands running jobs back when stopped past its drain window', async () => {
    const first = startWorker();
    const { job } = await parts.service.submit(
      { command: ['node', '-e', "console.log('attempt', process.env.RUNPLANE_ATTEMPT); setTimeout(() => {}, 3000)"] },
      LOCAL_CALLER,
    );
    await waitForJob(parts.store, job.id, (j) => j.state === 'RUNNING');
    await new Promise((r) => setTimeout(r, 300));
    await first.stop({ drainSeconds: 0 });
    const handedBack = await parts.store.getJob(job.id);
    expect(handedBack).toMatchObject({ state: 'QUEUED', attempt: 1 });
    expect(handedBack?.history.at(-1)?.reason).toMatch(/handed back/);
    expect(await outputOf(job.id, 1)).toBe('attempt 1\n');
    // Visible again at once: a second worker resumes it as attempt 2.
    startWorker();
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 10_000);
    expect(done).toMatchObject({ state: 'SUCCEEDED', attempt: 2 });
    expect(await outputOf(job.id, 2)).toBe('attempt 2\n');
  });
});
