import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../core/auth/caller.ts';
import { isTerminal, type Job } from '../../core/jobs/job.ts';
import { detectProcessRuntime } from '../../core/runtime/detect-process-runtime.ts';
import type { JobRuntime } from '../../core/runtime/job-runtime.ts';
import { ProcessRuntime } from '../../core/runtime/process-runtime.ts';
import { listProcesses } from '../../core/runtime/process-tree.ts';
import { Worker } from '../../core/worker/worker.ts';
import { createTestEnvironment, type TestEnvironment } from '../support/emulators.ts';
import { platformParts, waitForJob } from '../support/platform-parts.ts';

/**
 * Hostile process jobs against the sandbox this machine offers (bubblewrap + slot uids + memory
 * cgroup when the tests run as root, as here and in CI). Each attack is also run once without a
 * sandbox (ProcessRuntime), to show that the attack itself works and the assertion can fail.
 */
const groupA: Caller = { subject: 'alice', role: 'member', groups: ['group-a'] };
const groupB: Caller = { subject: 'bob', role: 'member', groups: ['group-b'] };

describe('process jobs are sandboxed', () => {
  let env: TestEnvironment;
  let parts: ReturnType<typeof platformParts>;
  let worker: Worker | undefined;
  let root: string;
  let dataDir: string;
  let workRoot: string;
  let sandbox: JobRuntime;

  beforeAll(async () => {
    env = await createTestEnvironment();
    parts = platformParts(env);
    root = await mkdtemp(join(tmpdir(), 'runplane-isolation-'));
    // A local platform's data directory: its admin key is what a hostile job wants.
    dataDir = join(root, '.runplane');
    await mkdir(join(dataDir, 'auth'), { recursive: true });
    await writeFile(join(dataDir, 'auth', 'admin-key'), 'rp_admin_SECRET\n', { mode: 0o600 });
    workRoot = join(root, 'work');
    sandbox = await detectProcessRuntime({ hiddenPaths: [dataDir] });
  });
  afterEach(async () => {
    await worker?.stop({ drainSeconds: 0 });
    worker = undefined;
  });
  afterAll(async () => {
    await env.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  it('uses a real sandbox on this machine (root + bubblewrap here and in CI)', () => {
    expect(sandbox.isolation.kind).toBe('sandbox');
    if (process.getuid?.() === 0) expect(sandbox.isolation.summary).toMatch(/own uid per slot/);
  });

  const startWorker = (runtime: JobRuntime) => {
    worker = new Worker({
      ...parts,
      pool: 'default',
      concurrency: 3,
      leaseSeconds: 10,
      heartbeatSeconds: 0.2,
      killGraceSeconds: 1,
      pollWaitSeconds: 1,
      flushIntervalMs: 20,
      workRoot,
      runtime,
    });
    worker.start();
  };
  const admin: Caller = { subject: 'ops', role: 'admin', groups: ['group-a', 'group-b'] };
  const output = async (jobId: string) => (await parts.service.logs(jobId, {}, admin)).bytes.toString('utf8');
  const startedPid = async (jobId: string) => {
    for (;;) {
      const page = await parts.events.list({ jobId, attempt: 1, limit: 10 });
      const started = page.events.find((e) => e.kind === 'lifecycle' && e.name === 'started');
      if (started && started.kind === 'lifecycle') return started.details.pid as number;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const waitForOutput = async (jobId: string, text: string) => {
    while (!(await output(jobId)).includes(text)) await new Promise((r) => setTimeout(r, 50));
  };

  /** A job that tries to read the admin key, another job's files and the platform's environment. */
  const snoop = async (runtime: JobRuntime) => {
    startWorker(runtime);
    const { job: victim } = await parts.service.submit(
      { command: ['sh', '-c', 'echo victim-secret > secret; echo ready; sleep 5'], timeoutSeconds: 30 },
      groupB,
    );
    await waitForOutput(victim.id, 'ready');
    const script = [
      `cat ${join(dataDir, 'auth', 'admin-key')} && echo LEAK:admin-key`,
      `cat ${workRoot}/*/secret && echo LEAK:other-job`,
      // VITEST is in the platform process's (this test worker's) own environment, never in a job's.
      'tr "\\0" "\\n" < /proc/$PPID/environ | grep -q ^VITEST= && echo LEAK:parent-environ',
      `tr "\\0" "\\n" < /proc/${process.pid}/environ | grep -q ^VITEST= && echo LEAK:platform-environ`,
      'echo finished',
    ].join('; ');
    const { job } = await parts.service.submit({ command: ['sh', '-c', script] }, groupA);
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state));
    await parts.service.cancel(victim.id, groupB).catch(() => undefined);
    return { done, text: await output(job.id) };
  };

  it('without a sandbox the snooping job succeeds (the attack is real)', { timeout: 60_000 }, async () => {
    const { text } = await snoop(new ProcessRuntime());
    expect(text).toContain('LEAK:admin-key');
    expect(text).toContain('LEAK:other-job');
    expect(text).toContain('LEAK:platform-environ');
  });

  it('a sandboxed job cannot read the admin key, another job’s directory or the platform’s environment', { timeout: 60_000 }, async () => {
    const { done, text } = await snoop(sandbox);
    expect(done.state).toBe('SUCCEEDED');
    expect(text).toContain('finished');
    expect(text).not.toContain('LEAK');
    expect(text).not.toContain('rp_admin_SECRET');
    expect(text).not.toContain('victim-secret');
  });

  /** A job of group A that kills group B's job by its process group. */
  const killOther = async (runtime: JobRuntime) => {
    startWorker(runtime);
    const { job: victim } = await parts.service.submit({ command: ['sh', '-c', 'echo ready; sleep 3; echo survived'] }, groupB);
    const pgid = await startedPid(victim.id);
    await waitForOutput(victim.id, 'ready');
    const { job: attacker } = await parts.service.submit({ command: ['sh', '-c', `kill -9 -${pgid}; kill -9 ${pgid}; echo attacked`] }, groupA);
    await waitForJob(parts.store, attacker.id, (j) => isTerminal(j.state));
    return waitForJob(parts.store, victim.id, (j) => isTerminal(j.state));
  };

  it('without a sandbox a job kills another group’s job (the attack is real)', { timeout: 60_000 }, async () => {
    const victim = await killOther(new ProcessRuntime());
    expect(victim).toMatchObject({ state: 'FAILED', reason: 'killed by signal SIGKILL' });
  });

  it('a sandboxed job cannot kill another group’s job: the victim succeeds', { timeout: 60_000 }, async () => {
    const victim = await killOther(sandbox);
    expect(victim).toMatchObject({ state: 'SUCCEEDED' });
    expect(await output(victim.id)).toContain('survived');
  });

  /** The double-forked daemon: the process whose command line is exactly `sleep <marker>`. */
  const survivors = async (marker: string) => {
    const sleeps = (await listProcesses()).filter((p) => p.comm === 'sleep');
    const lines = await Promise.all(sleeps.map(async (p) => ({ pid: p.pid, cmdline: await readCmdline(p.pid) })));
    return lines.filter((l) => l.cmdline === `sleep ${marker}`).map((l) => l.pid);
  };
  const daemonStarted = async (marker: string) => {
    while ((await survivors(marker)).length === 0) await new Promise((r) => setTimeout(r, 50));
  };
  const goneWithinASecond = async (marker: string) => {
    const deadline = Date.now() + 1_000;
    while (Date.now() < deadline) {
      if ((await survivors(marker)).length === 0) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return (await survivors(marker)).length === 0;
  };
  const daemonJob = (marker: string, after: string) => ['sh', '-c', `setsid sh -c "sleep ${marker}" > /dev/null 2>&1 & echo started; ${after}`];

  it('without a sandbox a setsid daemon outlives its job (the attack is real)', { timeout: 60_000 }, async () => {
    startWorker(new ProcessRuntime());
    const marker = `97.${Math.floor(Math.random() * 1e6)}`;
    const { job } = await parts.service.submit({ command: daemonJob(marker, 'exit 0') }, groupA);
    await daemonStarted(marker);
    await waitForJob(parts.store, job.id, (j) => isTerminal(j.state));
    expect(await goneWithinASecond(marker)).toBe(false);
    for (const pid of await survivors(marker)) process.kill(pid, 'SIGKILL');
  });

  it.each([
    ['its exit', 'sleep 1', undefined, 'SUCCEEDED'],
    ['a cancel', 'sleep 30', 'cancel', 'CANCELLED'],
    ['a timeout', 'sleep 30', undefined, 'TIMED_OUT'],
  ] as const)('a sandboxed setsid daemon is gone within a second of %s', { timeout: 60_000 }, async (_name, after, action, state) => {
    startWorker(sandbox);
    const marker = `97.${Math.floor(Math.random() * 1e6)}`;
    const { job } = await parts.service.submit({ command: daemonJob(marker, after), timeoutSeconds: state === 'TIMED_OUT' ? 2 : 60 }, groupA);
    await daemonStarted(marker);
    if (action === 'cancel') await parts.service.cancel(job.id, groupA);
    const done: Job = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state));
    expect(done.state).toBe(state);
    expect(await goneWithinASecond(marker)).toBe(true);
  });

  it('enforces the memory limit by cgroup and says so in the reason', { timeout: 60_000 }, async () => {
    if (!sandbox.isolation.summary.includes('memory limit by cgroup')) {
      // A machine that cannot create cgroups says so at start-up instead; CI and this machine can.
      expect(process.env.CI).toBeUndefined();
      console.warn('NOT RUN: no memory cgroup on this machine');
      return;
    }
    startWorker(sandbox);
    const { job } = await parts.service.submit(
      {
        command: ['node', '-e', 'const a = []; for (;;) a.push(Buffer.alloc(16 * 1024 * 1024, 1))'],
        resources: { memoryMiB: 64 },
      },
      groupA,
    );
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 30_000);
    expect(done.state).toBe('FAILED');
    expect(done.reason).toMatch(/^out of memory: /);
  });
});

async function readCmdline(pid: number): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(`/proc/${pid}/cmdline`, 'utf8').then((s) => s.replaceAll('\0', ' ').trim(), () => '');
}
