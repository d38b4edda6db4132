import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/dynamodb-local.ts';

/**
 * The README's path, end to end: `runplane dev` as a real process (DynamoDB Local on disk, fauxqs,
 * the handlers over HTTP, a worker), driven only through the CLI, then stopped and started again.
 */
describe('local platform end to end through the CLI', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'runplane-e2e-'));
  let port: number;
  let url: string;
  let platform: ChildProcess | undefined;
  let platformOutput = '';

  const cliEnv = () => ({ ...process.env, RUNPLANE_URL: url, NO_COLOR: '1' });
  const cli = (args: string[]) => {
    const out = spawnSync(process.execPath, ['bin/runplane.js', ...args], { env: cliEnv(), encoding: 'utf8', timeout: 60_000 });
    return { code: out.status, stdout: out.stdout, stderr: out.stderr };
  };

  async function startPlatform(workers: number) {
    platformOutput = '';
    platform = spawn(
      process.execPath,
      ['bin/runplane.js', 'dev', '--port', String(port), '--data-dir', dataDir, '--workers', String(workers)],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } },
    );
    platform.stdout!.on('data', (d: Buffer) => (platformOutput += d.toString()));
    platform.stderr!.on('data', (d: Buffer) => (platformOutput += d.toString()));
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline) {
      try {
        if ((await fetch(`${url}/healthz`)).ok) return;
      } catch {
        // not up yet
      }
      if (platform.exitCode !== null) throw new Error(`platform exited:\n${platformOutput}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`platform did not start:\n${platformOutput}`);
  }

  async function stopPlatform() {
    if (!platform || platform.exitCode !== null) return;
    const exited = new Promise((r) => platform!.once('exit', r));
    platform.kill('SIGINT');
    await exited;
  }

  beforeAll(async () => {
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    await startPlatform(1);
  }, 60_000);

  afterAll(async () => {
    await stopPlatform();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs a failing job and reports its state, exit code and exact output', () => {
    const script =
      "const s=(ms)=>new Promise(r=>setTimeout(r,ms));" +
      "(async()=>{console.log('line one');await s(150);console.error('oops: ü€😀');await s(150);console.log('line three');process.exit(7)})()";
    const submitted = cli(['submit', '--wait', '--name', 'e2e', '--', 'node', '-e', script]);
    expect(submitted.code, submitted.stderr).toBe(7);
    const id = submitted.stdout.trim();
    expect(id).toMatch(/^[0-9A-Z]{26}$/);

    const got = cli(['--json', 'get', id]);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ id, name: 'e2e', state: 'FAILED', exitCode: 7, reason: 'exited with code 7', attempt: 1 });

    const logs = cli(['logs', id]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toBe('line one\noops: ü€😀\nline three\n');

    const followed = cli(['logs', '--follow', id]);
    expect(followed.stdout).toBe('line one\nline three\n');
    expect(followed.stderr).toBe('oops: ü€😀\n--- FAILED (exit code 7)\n');
  });

  it('returns bytes that are not UTF-8 exactly, through the API gateway and the CLI', () => {
    const all = Array.from({ length: 256 }, (_v, i) => i);
    const submitted = cli(['submit', '--wait', '--', 'node', '-e', `process.stdout.write(Buffer.from(${JSON.stringify(all)}))`]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const logs = spawnSync(process.execPath, ['bin/runplane.js', 'logs', submitted.stdout.trim()], { env: cliEnv(), timeout: 60_000 });
    expect(logs.status).toBe(0);
    expect(Buffer.from(logs.stdout).toString('hex')).toBe(Buffer.from(all).toString('hex'));
   }, 120_000);

  it('submit --follow shows where a retry begins and how the job ended', () => {
    const followed = cli([
      'submit', '--follow', '--max-attempts', '2', '--retry-delay', '1', '--',
      'sh', '-c', 'echo "try $RUNPLANE_ATTEMPT"; [ "$RUNPLANE_ATTEMPT" = 2 ] || exit 1',
    ]);
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toBe('try 1\ntry 2\n');
    expect(followed.stderr).toMatch(/^submitted [0-9A-Z]{26}\n--- attempt 2 \(after exit code 1, retry in \d+ s\)\n--- SUCCEEDED\n$/);
   }, 120_000);

  it('logs --follow ends with who cancelled the job', async () => {
    const submitted = cli(['submit', '--', 'sh', '-c', 'echo started; sleep 60']);
    const id = submitted.stdout.trim();
    const follower = spawn(process.execPath, ['bin/runplane.js', 'logs', '--follow', id], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    follower.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    follower.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => follower.once('exit', r));
    const deadline = Date.now() + 30_000;
    while (!stdout.includes('started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(cli(['cancel', id]).code).toBe(0);
    expect(await exited).toBe(0);
    expect(stdout).toBe('started\n');
    expect(stderr).toMatch(/^--- CANCELLED by \S+\n$/);
  }, 120_000);

  it('succeeds the README job, lists it and refuses to cancel it', () => {
    const submitted = cli(['submit', '--wait', '--', 'node', '-e', "console.log('hi')"]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = submitted.stdout.trim();
    expect(cli(['logs', id]).stdout).toBe('hi\n');
    expect(cli(['list']).stdout).toContain(id);
    const cancel = cli(['cancel', id]);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toContain('NOT_CANCELLABLE');
  });

  it('keeps every job across a restart, and runs the ones still queued', async () => {
    const done = cli(['submit', '--wait', '--', 'node', '-e', "console.log('before restart')"]).stdout.trim();
    await stopPlatform();
    expect(existsSync(join(dataDir, 'local.json'))).toBe(false);
    // No worker this time: a submitted job stays QUEUED across the next restart.
    await startPlatform(0);
    const queued = cli(['submit', '--', 'node', '-e', "console.log('after restart')"]).stdout.trim();
    expect(JSON.parse(cli(['--json', 'get', queued]).stdout).state).toBe('QUEUED');
    await stopPlatform();

    await startPlatform(1);
    expect(JSON.parse(cli(['--json', 'get', done]).stdout)).toMatchObject({ state: 'SUCCEEDED' });
    expect(cli(['logs', done]).stdout).toBe('before restart\n');
    const deadline = Date.now() + 20_000;
    let state = 'QUEUED';
    while (state !== 'SUCCEEDED' && Date.now() < deadline) {
      state = JSON.parse(cli(['--json', 'get', queued]).stdout).state;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(state).toBe('SUCCEEDED');
    expect(cli(['logs', queued]).stdout).toBe('after restart\n');
    const state0 = JSON.parse(readFileSync(join(dataDir, 'local.json'), 'utf8')) as { api: string };
    expect(state0.api).toBe(url);
    // Three starts of the platform (DynamoDB Local each time): far longer than 30 s on a loaded machine.
  }, 240_000);
});
