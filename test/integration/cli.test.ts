/**
 * The real `runplane` binary (bin/runplane.js, through tsx) against a fake API on loopback that
 * implements the HTTP contract in memory. Jobs "run" a tiny script given as their command:
 * `out:TEXT` / `err:TEXT` write a line to stdout / stderr, `exit:N` ends the job with code N,
 * `forever` prints a tick every step until the job is cancelled. Each spawn costs about half a
 * second (tsx), so each one checks as much as it can.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiJob, JobEvent } from '../../cli/api-client.ts';
import { jobView } from '../../core/jobs/job-view.ts';
import { makeJob } from '../support/jobs.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STEP_MS = 30;
const QUEUES = ['default', 'gpu'];

interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
}

class FakeApi {
  readonly jobs = new Map<string, ApiJob>();
  readonly events = new Map<string, JobEvent[]>();
  readonly requests: Recorded[] = [];
  private readonly idempotency = new Map<string, { body: string; jobId: string }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private counter = 0;
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch((error: unknown) =>
        send(res, 500, { error: { code: 'INTERNAL', message: String(error), details: {} } }),
      );
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** Creates a job directly, as another client would. */
  create(command: string[], queue = 'default'): ApiJob {
    this.counter += 1;
    const job: ApiJob = jobView(
      makeJob({
        id: `01JOB${String(this.counter).padStart(4, '0')}`,
        command,
        queue,
        createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, this.counter)).toISOString(),
      }),
    );
    this.jobs.set(job.id, job);
    this.events.set(job.id, []);
    this.later(() => this.run(job.id));
    return job;
  }

  private later(fn: () => void) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, STEP_MS);
    this.timers.add(timer);
  }

  private update(id: string, patch: Partial<ApiJob>): ApiJob {
    const job = { ...this.jobs.get(id)!, ...patch };
    this.jobs.set(id, job);
    return job;
  }

  private emit(id: string, stream: 'stdout' | 'stderr', data: string) {
    const list = this.events.get(id)!;
    list.push({
      jobId: id,
      attempt: 1,
      seq: list.length + 1,
      ts: new Date().toISOString(),
      kind: 'output',
      stream,
      data,
    });
  }

  private finish(id: string, state: ApiJob['state'], exitCode: number | null, reason: string) {
    const job = this.jobs.get(id)!;
    const now = new Date().toISOString();
    const list = this.events.get(id)!;
    list.push({
      jobId: id,
      attempt: 1,
      seq: list.length + 1,
      ts: now,
      kind: 'lifecycle',
      name: 'exited',
      details: { exitCode },
    });
    this.update(id, {
      state,
      exitCode,
      reason,
      finishedAt: now,
      cancelRequested: false,
      attempts: job.attempts.map((a) => ({ ...a, finishedAt: now, exitCode, reason })),
    });
  }

  private run(id: string) {
    const job = this.jobs.get(id)!;
    if (job.state !== 'QUEUED') return;
    const now = new Date().toISOString();
    this.update(id, {
      state: 'RUNNING',
      attempt: 1,
      startedAt: now,
      attempts: [{ attempt: 1, workerId: 'fake-worker', startedAt: now }],
    });
    const steps = [...job.command];
    const step = () => {
      const current = this.jobs.get(id)!;
      if (current.cancelRequested) return this.finish(id, 'CANCELLED', null, 'cancelled by tester');
      const next = steps[0] ?? 'exit:0';
      if (next !== 'forever') steps.shift();
      const [op, arg = ''] = [next.slice(0, next.indexOf(':')), next.slice(next.indexOf(':') + 1)];
      if (next === 'forever') this.emit(id, 'stdout', 'tick\n');
      else if (op === 'out') this.emit(id, 'stdout', `${arg}\n`);
      else if (op === 'err') this.emit(id, 'stderr', `${arg}\n`);
      else if (op === 'exit') {
        const code = Number(arg);
        return this.finish(id, code === 0 ? 'SUCCEEDED' : 'FAILED', code, `exited with code ${code}`);
      }
      this.later(step);
    };
    this.later(step);
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, headers: req.headers });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const q = url.searchParams;
    const parts = url.pathname.split('/').filter(Boolean);

    if (req.method === 'GET' && url.pathname === '/healthz') return send(res, 200, { ok: true });
    if (parts[0] !== 'v1' || parts[1] !== 'jobs') return notFound(res, url.pathname);

    if (parts.length === 2 && req.method === 'POST') {
      const body = JSON.parse(raw) as { command?: unknown; queue?: string };
      const fields: { path: string; message: string }[] = [];
      if (!Array.isArray(body.command) || body.command.length === 0)
        fields.push({ path: 'command', message: 'must name a program' });
      if (body.queue !== undefined && !QUEUES.includes(body.queue)) {
        fields.push({ path: 'queue', message: `unknown queue; known: ${QUEUES.join(', ')}` });
      }
      if (fields.length > 0)
        return send(res, 400, {
          error: { code: 'INVALID_ARGUMENT', message: 'invalid request body', details: { fields } },
        });
      const key = String(req.headers['idempotency-key'] ?? '');
      const seen = this.idempotency.get(key);
      if (seen && seen.body !== raw)
        return send(res, 409, {
          error: { code: 'IDEMPOTENCY_KEY_REUSED', message: 'key reused', details: {} },
        });
      if (seen) return send(res, 200, this.jobs.get(seen.jobId));
      const job = this.create(body.command as string[], body.queue);
      this.idempotency.set(key, { body: raw, jobId: job.id });
      return send(res, 201, job);
    }

    if (parts.length === 2 && req.method === 'GET') {
      const all = [...this.jobs.values()]
        .filter(
          (j) =>
            (!q.get('state') || j.state === q.get('state')) &&
            (!q.get('queue') || j.queue === q.get('queue')),
        )
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      const offset = Number(q.get('cursor') ?? 0);
      const limit = Number(q.get('limit') ?? 20);
      const jobs = all.slice(offset, offset + limit);
      return send(res, 200, {
        jobs,
        nextCursor: offset + limit < all.length ? String(offset + limit) : null,
      });
    }

    const job = this.jobs.get(parts[2] ?? '');
    if (!job) return notFound(res, url.pathname);
    const tail = parts.slice(3).join('/');

    if (req.method === 'GET' && tail === '') return send(res, 200, job);
    if (req.method === 'POST' && tail === 'cancel') {
      if (job.state === 'QUEUED')
        return send(res, 200, this.update(job.id, { state: 'CANCELLED', reason: 'cancelled by tester' }));
      if (job.state === 'RUNNING') return send(res, 200, this.update(job.id, { cancelRequested: true }));
      return send(res, 409, {
        error: {
          code: 'NOT_CANCELLABLE',
          message: `job ${job.id} is already ${job.state} and cannot be cancelled`,
          details: { jobId: job.id },
        },
      });
    }
    if (req.method === 'GET' && (tail === 'events' || tail === 'logs')) {
      const attempt = Number(q.get('attempt') ?? Math.max(job.attempt, 1));
      const events = (this.events.get(job.id) ?? []).filter((e) => e.attempt === attempt);
      if (tail === 'logs') {
        res.writeHead(200, {
          'content-type': 'text/plain; charset=utf-8',
          'x-runplane-attempt': String(attempt),
        });
        return res.end(events.map((e) => (e.kind === 'output' ? e.data : '')).join(''));
      }
      const after = Number(q.get('after') ?? 0);
      const rest = events.filter((e) => e.seq > after);
      const page = rest.slice(0, Number(q.get('limit') ?? 500));
      return send(res, 200, {
        events: page,
        next: page.at(-1)?.seq ?? after,
        hasMore: rest.length > page.length,
      });
    }
    return notFound(res, url.pathname);
  }
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function notFound(res: ServerResponse, path: string) {
  send(res, 404, { error: { code: 'NOT_FOUND', message: `${path} not found`, details: {} } });
}

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts `node bin/runplane.js ...args`; `onStdout` sees output as it arrives. */
function startCli(
  args: string[],
  env: Record<string, string>,
  onStdout?: (text: string) => void,
): Promise<CliRun> {
  const child = spawn(process.execPath, ['bin/runplane.js', ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    onStdout?.(stdout);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('runplane CLI against a fake API', () => {
  const api = new FakeApi();
  let env: Record<string, string>;
  const cli = (args: string[], onStdout?: (text: string) => void) => startCli(args, env, onStdout);

  beforeAll(async () => {
    env = { RUNPLANE_URL: await api.start() };
  });
  afterAll(async () => api.stop());

  let followedId = '';
  let waitedId = '';

  it('submit --follow streams each stream as written and exits with the job’s exit code', async () => {
    const run = await cli([
      'submit',
      '--follow',
      '--',
      'out:epoch 1',
      'err:careful',
      'out:epoch 2',
      'exit:3',
    ]);
    expect(run.stdout).toBe('epoch 1\nepoch 2\n');
    const [submitted, ...rest] = run.stderr.split('\n');
    followedId = submitted?.replace('submitted ', '') ?? '';
    expect(followedId).toMatch(/^01JOB\d{4}$/);
    expect(rest.join('\n')).toBe('careful\n--- FAILED (exit code 3)\n');
    expect(run.code).toBe(3);
  });

  it('submit --wait prints the id, sends one idempotency key and the token, and exits 0 on success', async () => {
    const run = await startCli(['submit', '--wait', '--name', 'ok', '--', 'out:fine', 'exit:0'], {
      ...env,
      RUNPLANE_TOKEN: 'secret-token',
    });
    waitedId = run.stdout.trim();
    expect(api.jobs.get(waitedId)?.state).toBe('SUCCEEDED');
    expect(run).toMatchObject({ code: 0, stderr: `job ${waitedId} SUCCEEDED: exited with code 0\n` });
    const submits = api.requests.filter(
      (r) =>
        r.method === 'POST' && r.path === '/v1/jobs' && r.headers.authorization === 'Bearer secret-token',
    );
    expect(submits).toHaveLength(1);
    expect(submits[0]?.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs prints the combined output; list shows both jobs newest first', async () => {
    const [logs, list] = await Promise.all([cli(['logs', followedId]), cli(['list', '--limit', '10'])]);
    expect(logs).toMatchObject({ code: 0, stdout: 'epoch 1\ncareful\nepoch 2\n', stderr: '' });
    expect(list.code).toBe(0);
    const rows = list.stdout
      .trimEnd()
      .split('\n')
      .map((line) => line.split(/\s{2,}/));
    expect(rows[0]).toEqual(['ID', 'STATE', 'QUEUE', 'NAME', 'CREATED', 'EXIT', 'WAITING']);
    expect(rows.slice(1).map((r) => [r[0], r[1], r[5]?.trim()])).toEqual([
      [waitedId, 'SUCCEEDED', '0'],
      [followedId, 'FAILED', '3'],
    ]);
  });

  it('logs --follow streams a running job until a cancel ends it; cancelling it again is refused', async () => {
    const job = api.create(['forever']);
    let cancel: Promise<CliRun> | undefined;
    const follow = await cli(['logs', '--follow', job.id], (text) => {
      // Cancel through the CLI once output is flowing.
      if (!cancel && text.includes('tick\ntick\n')) cancel = cli(['cancel', job.id]);
    });
    expect(cancel).toBeDefined();
    const cancelled = await cancel!;
    expect(cancelled).toMatchObject({
      code: 0,
      stdout: `cancel requested for ${job.id} (RUNNING): its worker stops it within one heartbeat\n`,
    });
    expect(follow.code).toBe(0);
    expect(follow.stdout).toMatch(/^(tick\n)+$/);
    // Everything the job wrote was delivered, not just what was there when the job ended.
    expect(follow.stdout).toBe(
      api.events
        .get(job.id)!
        .flatMap((e) => (e.kind === 'output' ? [e.data] : []))
        .join(''),
    );
    expect(api.jobs.get(job.id)?.state).toBe('CANCELLED');

    const again = await cli(['cancel', job.id]);
    expect(again).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `error: NOT_CANCELLABLE: job ${job.id} is already CANCELLED and cannot be cancelled\n`,
    });
  });

  it('renders a 400 with its field details and exits 1', async () => {
    const run = await cli(['submit', '--queue', 'nope', '--', 'true']);
    expect(run).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'error: INVALID_ARGUMENT: invalid request body\n  queue: unknown queue; known: default, gpu\n',
    });
  });

  it('says how to start the platform when nothing listens', async () => {
    // A port that was just free: bind, read it, close.
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));

    const run = await startCli(['get', 'x'], { RUNPLANE_URL: `http://127.0.0.1:${port}` });
    expect(run).toMatchObject({
      code: 1,
      stderr: `error: cannot reach the Runplane API at http://127.0.0.1:${port} (ECONNREFUSED)\nhint: is the platform running? start it with \`npm start\` (or \`runplane dev\`)\n`,
    });
  });
});
