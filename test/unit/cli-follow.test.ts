import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ApiJob, EventPage, JobEvent, ListEventsQuery } from '../../cli/api-client.ts';
import { attemptBoundaryLine, finalStateLine, followJob, streamWriter, waitForJob } from '../../cli/follow.ts';
import { type AttemptRecord } from '../../core/jobs/job.ts';
import { jobView } from '../../core/jobs/job-view.ts';
import { makeJob } from '../support/jobs.ts';

const T = '2026-01-01T00:00:00.000Z';

/**
 * An in-memory job and its events. Time moves only when the code under test sleeps: each sleep
 * runs the next step of the script, so a test states exactly what the API shows between polls.
 */
class FakeApi {
  job: ApiJob = jobView(makeJob({ id: 'J1', state: 'QUEUED' }));
  readonly events = new Map<number, JobEvent[]>();
  readonly calls: string[] = [];
  readonly sleeps: number[] = [];
  /** Cap on events per page, below the client's request, to exercise `hasMore`. */
  pageSize = 1000;
  private readonly script: (() => void)[] = [];

  steps(...steps: (() => void)[]): this {
    this.script.push(...steps);
    return this;
  }

  readonly sleep = async (ms: number) => {
    this.sleeps.push(ms);
    const step = this.script.shift();
    if (!step) throw new Error(`polled past the end of the script (after ${this.calls.length} calls)`);
    step();
  };

  readonly getJob = async (id: string): Promise<ApiJob> => {
    this.calls.push(`job ${id}`);
    return structuredClone(this.job);
  };

  readonly listEvents = async (id: string, query: ListEventsQuery = {}): Promise<EventPage> => {
    const attempt = query.attempt ?? Math.max(1, this.job.attempt);
    const after = query.after ?? 0;
    this.calls.push(`events ${id} #${attempt} after ${after}`);
    const rest = (this.events.get(attempt) ?? []).filter((e) => e.seq > after);
    const page = rest.slice(0, Math.min(query.limit ?? 500, this.pageSize));
    return { jobId: id, attempt, events: page, next: page.at(-1)?.seq ?? after, hasMore: rest.length > page.length };
  };

  set(patch: Partial<ApiJob>) {
    this.job = { ...this.job, ...patch };
  }

  /** Starts attempt n on a worker. */
  start(n: number) {
    const attempts: AttemptRecord[] = [...this.job.attempts, { attempt: n, workerId: 'w1', startedAt: T }];
    this.set({ state: 'RUNNING', attempt: n, attempts });
  }

  /** Ends the current attempt: `to` QUEUED means a retry is coming. */
  finish(to: ApiJob['state'], exitCode: number | null, reason: string) {
    const attempts = this.job.attempts.map((a) =>
      a.attempt === this.job.attempt ? { ...a, finishedAt: T, exitCode, reason } : a,
    );
    this.set({ state: to, attempts, ...(to === 'QUEUED' ? {} : { exitCode, reason }) });
  }

  out(stream: 'stdout' | 'stderr', data: string, attempt = this.job.attempt) {
    const list = this.events.get(attempt) ?? [];
    list.push({ jobId: this.job.id, attempt, seq: list.length + 1, ts: T, kind: 'output', stream, data });
    this.events.set(attempt, list);
  }

  lifecycle(name: string, attempt = this.job.attempt) {
    const list = this.events.get(attempt) ?? [];
    list.push({
      jobId: this.job.id,
      attempt,
      seq: list.length + 1,
      ts: T,
      kind: 'lifecycle',
      name,
      details: {},
    });
    this.events.set(attempt, list);
  }
}

/** Collects what each writer received, and the interleaving across both. */
function sinks() {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const order: string[] = [];
  return {
    stdout: (bytes: string | Uint8Array) => {
      const chunk = Buffer.from(bytes).toString('utf8');
      stdout.push(chunk);
      order.push(`out:${chunk}`);
    },
    stderr: (bytes: string | Uint8Array) => {
      const chunk = Buffer.from(bytes).toString('utf8');
      stderr.push(chunk);
      order.push(`err:${chunk}`);
    },
    text: () => ({ stdout: stdout.join(''), stderr: stderr.join('') }),
    order,
  };
}

const follow = (
  api: FakeApi,
  io: ReturnType<typeof sinks>,
  extra: Partial<Parameters<typeof followJob>[0]> = {},
) =>
  followJob({ client: api, jobId: 'J1', stdout: io.stdout, stderr: io.stderr, sleep: api.sleep, ...extra });

describe('followJob', () => {
  it('writes each stream to its writer in sequence order and stops once the job is terminal and drained', async () => {
    const api = new FakeApi();
    api.start(1);
    api.lifecycle('process-started');
    api.out('stdout', 'epoch 1\n');
    api.out('stderr', 'warning: slow\n');
    api.steps(
      () => api.out('stdout', 'epoch 2\n'),
      () => {
        // The last output and the terminal state become visible between the same two polls.
        api.out('stderr', 'done?');
        api.out('stdout', 'epoch 3\n');
        api.lifecycle('process-exited');
        api.finish('SUCCEEDED', 0, 'exited with code 0');
      },
    );
    const io = sinks();
    const final = await follow(api, io);

    expect(final.state).toBe('SUCCEEDED');
    expect(io.order).toEqual([
      'out:epoch 1\n',
      'err:warning: slow\n',
      'out:epoch 2\n',
      'err:done?',
      'out:epoch 3\n',
    ]);
    expect(io.text()).toEqual({ stdout: 'epoch 1\nepoch 2\nepoch 3\n', stderr: 'warning: slow\ndone?' });
    // Read the job, then drain: the final drain comes after the read that saw SUCCEEDED.
    expect(api.calls.slice(-2)).toEqual(['job J1', 'events J1 #1 after 4']);
  });

  it('waits for a queued job to start without asking for events of an attempt that does not exist', async () => {
    const api = new FakeApi();
    api.steps(
      () => undefined,
      () => {
        api.start(1);
        api.out('stdout', 'hi\n');
        api.finish('SUCCEEDED', 0, 'exited with code 0');
      },
    );
    const io = sinks();
    await follow(api, io);
    expect(io.text().stdout).toBe('hi\n');
    expect(api.calls.filter((c) => c.startsWith('events'))).toEqual(['events J1 #1 after 0']);
  });

  it('drains every page before sleeping', async () => {
    const api = new FakeApi();
    api.pageSize = 2;
    api.start(1);
    for (let i = 1; i <= 5; i++) api.out('stdout', `${i}`);
    api.finish('FAILED', 2, 'exited with code 2');
    const io = sinks();
    const final = await follow(api, io);
    expect(io.text().stdout).toBe('12345');
    expect(final).toMatchObject({ state: 'FAILED', exitCode: 2 });
    expect(api.sleeps).toEqual([]);
    expect(api.calls).toEqual([
      'job J1',
      'events J1 #1 after 0',
      'events J1 #1 after 2',
      'events J1 #1 after 4',
    ]);
  });

  it('follows retries: the rest of attempt 1, then attempt 2, even when a poll skips straight past the retry', async () => {
    const api = new FakeApi();
    api.set({ maxAttempts: 3 });
    api.start(1);
    api.out('stdout', 'try 1\n');
    api.steps(() => {
      // Between two polls: attempt 1 writes more and fails, attempt 2 starts, writes and ends.
      api.out('stderr', 'crash\n');
      api.finish('QUEUED', 1, 'exited with code 1');
      api.start(2);
      api.out('stdout', 'try 2\n');
      api.finish('SUCCEEDED', 0, 'exited with code 0');
    });
    const io = sinks();
    const attempts: number[] = [];
    const final = await follow(api, io, { onAttempt: (n) => void attempts.push(n) });
    expect(final.state).toBe('SUCCEEDED');
    expect(io.order).toEqual(['out:try 1\n', 'err:crash\n', 'out:try 2\n']);
    expect(attempts).toEqual([2]);
  });

  it('starts at the latest attempt of a job that has already retried', async () => {
    const api = new FakeApi();
    api.start(1);
    api.out('stdout', 'old\n');
    api.finish('QUEUED', 1, 'exited with code 1');
    api.start(2);
    api.out('stdout', 'new\n');
    api.finish('FAILED', 1, 'exited with code 1');
    const io = sinks();
    await follow(api, io);
    expect(io.text().stdout).toBe('new\n');
  });

  it('with a fixed attempt, stops when that attempt has ended although the job goes on', async () => {
    const api = new FakeApi();
    api.start(1);
    api.out('stdout', 'a');
    api.steps(() => {
      api.out('stdout', 'b');
      api.finish('QUEUED', 1, 'exited with code 1');
    });
    const io = sinks();
    const final = await follow(api, io, { attempt: 1 });
    expect(io.text().stdout).toBe('ab');
    expect(final.state).toBe('QUEUED');
  });

  it('passes every event, lifecycle included, to onEvent in order', async () => {
    const api = new FakeApi();
    api.start(1);
    api.lifecycle('process-started');
    api.out('stdout', 'x');
    api.lifecycle('process-exited');
    api.finish('SUCCEEDED', 0, 'ok');
    const seen: string[] = [];
    await follow(api, sinks(), { onEvent: (e) => void seen.push(`${e.seq}:${e.kind}`) });
    expect(seen).toEqual(['1:lifecycle', '2:output', '3:lifecycle']);
  });

  it('backs off while idle and returns to the fastest interval when output arrives', async () => {
    const api = new FakeApi();
    api.start(1);
    const idle = () => undefined;
    api.steps(
      idle,
      idle,
      idle,
      idle,
      idle,
      () => api.out('stdout', '.'),
      idle,
      () => api.finish('SUCCEEDED', 0, 'ok'),
    );
    await follow(api, sinks(), { intervals: { minMs: 100, maxMs: 700 } });
    expect(api.sleeps).toEqual([100, 200, 400, 700, 700, 700, 100, 100]);
  });

  it('propagates an API error instead of spinning', async () => {
    const api = new FakeApi();
    const failing = { getJob: async () => Promise.reject(new Error('boom')), listEvents: api.listEvents };
    await expect(
      followJob({ client: failing, jobId: 'J1', stdout: () => undefined, stderr: () => undefined }),
    ).rejects.toThrow('boom');
  });
});

describe('waitForJob', () => {
  it('polls until terminal, reporting only changes, backing off while nothing changes', async () => {
    const api = new FakeApi();
    const same = () => undefined;
    api.steps(
      same,
      same,
      () => api.set({ waitingReason: 'no worker on queue default' }),
      () => api.start(1),
      same,
      () => api.finish('TIMED_OUT', null, 'timed out after 60 s'),
    );
    const changes: string[] = [];
    const final = await waitForJob({
      client: api,
      jobId: 'J1',
      sleep: api.sleep,
      intervals: { minMs: 10, maxMs: 30 },
      onChange: (j) => void changes.push(`${j.state}${j.waitingReason ? `: ${j.waitingReason}` : ''}`),
    });
    expect(final).toMatchObject({ state: 'TIMED_OUT', reason: 'timed out after 60 s' });
    expect(changes).toEqual([
      'QUEUED',
      'QUEUED: no worker on queue default',
      'RUNNING: no worker on queue default',
      'TIMED_OUT: no worker on queue default',
    ]);
    expect(api.sleeps).toEqual([10, 20, 30, 10, 10, 20]);
  });
});

describe('streamWriter', () => {
  it('resolves at once while the stream has room, and waits for drain when it is full', async () => {
    const received: string[] = [];
    let release: (() => void) | undefined;
    const slow = new Writable({
      highWaterMark: 4,
      decodeStrings: false,
      write(chunk: string, _encoding, callback) {
        received.push(chunk);
        release = callback;
      },
    });
    const write = streamWriter(slow);
    expect(write('ab')).toBeUndefined();
    const pending = write('cdefgh');
    expect(pending).toBeInstanceOf(Promise);
    let settled = false;
    void (pending as Promise<void>).then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    release?.();
    await new Promise((r) => setImmediate(r));
    release?.();
    await pending;
    expect(received.join('')).toBe('abcdefgh');
  });

  it('does not hang when the reader goes away', async () => {
    const stream = new PassThrough({ highWaterMark: 1 });
    const write = streamWriter(stream);
    const pending = write('more than one byte');
    stream.destroy();
    await expect(pending).resolves.toBeUndefined();
  });
});

describe('follow lines', () => {
  const job = (fields: Partial<ApiJob>): ApiJob => ({ ...(fields as ApiJob) });
  it.each([
    ['exited with code 1; retrying in 10 s (attempt 2 of 3)', '--- attempt 2 (after exit code 1, retry in 10 s)'],
    ['killed by signal SIGKILL; retrying in 0 s (attempt 2 of 3)', '--- attempt 2 (after signal SIGKILL, retry in 0 s)'],
    ['handed back by w1 (worker stopping)', '--- attempt 2 (after handed back by w1 (worker stopping))'],
  ])('a retry after %j', (reason, line) => {
    expect(attemptBoundaryLine(job({ attempts: [{ attempt: 1, workerId: 'w', startedAt: 't', reason }] }), 2)).toBe(line);
  });

  it.each([
    [{ state: 'SUCCEEDED', reason: 'exited with code 0' }, '--- SUCCEEDED'],
    [{ state: 'FAILED', reason: 'exited with code 3' }, '--- FAILED (exit code 3)'],
    [{ state: 'CANCELLED', reason: 'cancelled by alice' }, '--- CANCELLED by alice'],
    [{ state: 'TIMED_OUT', reason: 'timed out after 5 s' }, '--- TIMED_OUT (timed out after 5 s)'],
  ] as const)('the final state of %o', (fields, line) => {
    expect(finalStateLine(job(fields))).toBe(line);
  });
});
