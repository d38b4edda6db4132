import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, LOCK_FILE } from '../../local/dynamodb-local.ts';
import { DRAIN_SECONDS } from '../../local/platform.ts';
import { isAlive, jobProcesses, listeningSockets, processTree, waitUntilGone } from '../support/processes.ts';

const BIN = resolve('bin/runplane.js');
// Sleeps on its first attempt only: the job can be stopped mid-run, and its next attempt SUCCEEDS.
const LONG_ON_FIRST_ATTEMPT = ['sh', '-c', 'if [ "$RUNPLANE_ATTEMPT" = 1 ]; then exec sleep 600; fi; echo resumed'];

interface JobView {
  readonly id: string;
  readonly state: string;
  readonly attempt: number;
  readonly history: readonly { reason: string }[];
}

/**
 * Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group, here a group of
 * its own made for `runplane dev` (started as `npm start -- --port N` would: in a directory whose
 * `.runplane/` it uses). Running jobs are handed back and run again after the next start; a
 * second Ctrl-C stops at once and the next start still runs them again.
 */
describe('local platform Ctrl-C', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'runplane-stop-'));
  const dataDir = join(cwd, '.runplane');
  let port: number;
  let url: string;
  let platform: ChildProcess | undefined;
  let output = '';
  let adminKey = '';

  async function start() {
    output = '';
    platform = spawn(process.execPath, [BIN, 'dev', '--port', String(port)], {
      cwd,
      detached: true, // its own process group, as a terminal's foreground job
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RUNPLANE_URL: '' },
    });
    platform.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    platform.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (output.includes('Press Ctrl-C to stop.')) break;
      if (platform.exitCode !== null) throw new Error(`platform exited:\n${output}`);
      if (Date.now() > deadline) throw new Error(`platform did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    adminKey = readFileSync(join(dataDir, 'auth', 'admin-key'), 'utf8').trim();
  }

  const exited = (child: ChildProcess) =>
    new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));

  async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return (await res.json()) as T;
  }

  async function waitForJob(id: string, done: (job: JobView) => boolean): Promise<JobView> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const job = await api<JobView>('GET', `/v1/jobs/${id}`);
      if (done(job)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} is ${job.state}:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Two jobs, each with its process running. */
  async function twoRunningJobs(): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) ids.push((await api<{ id: string }>('POST', '/v1/jobs', { command: LONG_ON_FIRST_ATTEMPT })).id);
    for (const id of ids) await waitForJob(id, (j) => j.state === 'RUNNING');
    const deadline = Date.now() + 30_000;
    while (ids.some((id) => jobProcesses(id).length === 0)) {
      if (Date.now() > deadline) throw new Error('job processes did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    return ids;
  }

  const dynamoDbPid = () => (JSON.parse(readFileSync(join(dataDir, 'dynamodb', LOCK_FILE), 'utf8')) as { pid: number }).pid;

  beforeAll(async () => {
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    await start();
  }, 120_000);

  afterAll(async () => {
    if (platform && platform.exitCode === null) {
      process.kill(-platform.pid!, 'SIGINT');
      await exited(platform);
    }
    rmSync(cwd, { recursive: true, force: true });
  }, 60_000);

  it('prints and records the port it was given', () => {
    expect(output).toContain(`Runplane is running at ${url}`);
    expect(output).toContain(`Try: RUNPLANE_URL=${url} npx runplane submit `);
    expect(output.match(/127\.0\.0\.1:\d+/g)!.every((a) => a === `127.0.0.1:${port}`)).toBe(true);
    expect(JSON.parse(readFileSync(join(dataDir, 'local.json'), 'utf8'))).toMatchObject({ api: url, pid: platform!.pid });
  });

  it('listens on 127.0.0.1 only, the emulators included', () => {
    const sockets = listeningSockets(processTree(platform!.pid!));
    // The API, fauxqs and DynamoDB Local (in the Java process, a child).
    expect(sockets.map((s) => s.port)).toContain(port);
    expect(new Set(sockets.map((s) => s.pid)).size).toBeGreaterThanOrEqual(2);
    expect(sockets.length).toBeGreaterThanOrEqual(3);
    expect(sockets.filter((s) => s.address !== '127.0.0.1')).toEqual([]);
  });

  it('stops within the drain window plus 5 s, handing running jobs back; they run again after the next start', async () => {
    const ids = await twoRunningJobs();
    const java = dynamoDbPid();
    const before = Date.now();
    process.kill(-platform!.pid!, 'SIGINT');
    expect(await exited(platform!)).toBe(0);
    expect(Date.now() - before).toBeLessThan((DRAIN_SECONDS + 5) * 1000);
    expect(output).toContain('Runplane stopped.');
    expect(output).not.toMatch(/job store is unavailable|heartbeat failed/);
    expect(isAlive(java)).toBe(false);
    for (const id of ids) expect(jobProcesses(id)).toEqual([]);
    expect(existsSync(join(dataDir, 'local.json'))).toBe(false);

    await start();
    for (const id of ids) {
      const job = await waitForJob(id, (j) => j.state === 'SUCCEEDED' || j.state === 'FAILED');
      expect(job.state, JSON.stringify(job.history)).toBe('SUCCEEDED');
      expect(job.attempt).toBe(2);
      expect(job.history.map((h) => h.reason)).toContain('handed back by local-default-1 (worker stopping)');
    }
  }, 240_000);

  it('stops at once on a second Ctrl-C, and the next start still runs the jobs again', async () => {
    const ids = await twoRunningJobs();
    const java = dynamoDbPid();
    process.kill(-platform!.pid!, 'SIGINT');
    // Further apart than one Ctrl-C that `npm start` forwards a second time.
    await new Promise((r) => setTimeout(r, 1_500));
    const second = Date.now();
    process.kill(-platform!.pid!, 'SIGINT');
    expect(await exited(platform!)).toBe(130);
    expect(Date.now() - second).toBeLessThan(3_000);
    const deadline = Date.now() + 10_000;
    while ((isAlive(java) || ids.some((id) => jobProcesses(id).length > 0)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(isAlive(java)).toBe(false);
    for (const id of ids) expect(jobProcesses(id)).toEqual([]);

    const restarted = Date.now();
    await start();
    expect(output).toContain('recovered 2 running job(s) the previous run did not hand back');
    for (const id of ids) {
      const job = await waitForJob(id, (j) => j.state === 'SUCCEEDED' || j.state === 'FAILED');
      expect(job.state, JSON.stringify(job.history)).toBe('SUCCEEDED');
      expect(job.history.map((h) => h.reason).some((r) => /^worker local-default-1 lost \(.*stopped.*\); handed back$/.test(r))).toBe(true);
    }
    // Recovered at start, not after the lease (60 s on the default queue) ran out.
    expect(Date.now() - restarted).toBeLessThan(60_000);
  }, 240_000);

  it('after a kill -9 of the platform: DynamoDB Local halts, and the next start ends the orphaned job and runs it again', async () => {
    const [id] = await twoRunningJobs();
    const java = dynamoDbPid();
    const orphans = jobProcesses(id!);
    process.kill(platform!.pid!, 'SIGKILL');
    await exited(platform!);
    expect(await waitUntilGone(java, 20_000)).toBe(true);
    // The job's processes were found while it ran. Sandboxed (bubblewrap dies with its parent)
    // they may already be gone; unsandboxed they are left running, and the next start ends them.
    expect(orphans.length).toBeGreaterThan(0);

    await start();
    for (const pid of orphans) expect(isAlive(pid)).toBe(false);
    const job = await waitForJob(id!, (j) => j.state === 'SUCCEEDED' || j.state === 'FAILED');
    expect(job.state, JSON.stringify(job.history)).toBe('SUCCEEDED');
  }, 240_000);
});
