import { describe, expect, it, vi } from 'vitest';
import { ApiError, ConnectionError, RunplaneClient, networkErrorCode } from '../../cli/api-client.ts';
import { jobView } from '../../core/jobs/job-view.ts';
import { makeJob } from '../support/jobs.ts';

interface Call {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
}

type Reply = Response | Error;

/** A fetch that answers from a script, in order, and records every request. */
function scriptedFetch(replies: Reply[]) {
  const calls: Call[] = [];
  const fetch = vi.fn(async (input: string | URL | Request, init?: RequestInit) => {
    calls.push({
      url: String(input),
      method: init?.method ?? 'GET',
      headers: { ...(init?.headers as Record<string, string>) },
      body: typeof init?.body === 'string' ? init.body : undefined,
    });
    const reply = replies.shift();
    if (reply === undefined) throw new Error('unexpected request');
    if (reply instanceof Error) throw reply;
    return reply;
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, calls };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

const apiError = (status: number, code: string, message = code, details: Record<string, unknown> = {}) =>
  json(status, { error: { code, message, details } });

/** What undici throws when nothing listens on the port. */
function refused(): Error {
  return new TypeError('fetch failed', {
    cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
  });
}
function reset(): Error {
  return new TypeError('fetch failed', {
    cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
  });
}

function client(replies: Reply[], options: { token?: string } = {}) {
  const { fetch, calls } = scriptedFetch(replies);
  const sleeps: number[] = [];
  const c = new RunplaneClient({
    baseUrl: 'http://api.test/',
    fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    // Jitter pinned to its top so delays are exact: base * 2^(n-1).
    random: () => 1,
    ...options,
  });
  return { client: c, calls, sleeps };
}

const job = jobView(makeJob({ id: '01JOB' }));

describe('RunplaneClient.submitJob', () => {
  it('sends the spec with the given Idempotency-Key and returns the created job', async () => {
    const { client: c, calls } = client([json(201, job)]);
    const result = await c.submitJob({ command: ['echo', 'hi'], queue: 'gpu' }, { idempotencyKey: 'key-1' });
    expect(result).toEqual(job);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ url: 'http://api.test/v1/jobs', method: 'POST' });
    expect(calls[0]?.headers).toMatchObject({
      'idempotency-key': 'key-1',
      'content-type': 'application/json',
    });
    expect(JSON.parse(calls[0]?.body ?? '')).toEqual({ command: ['echo', 'hi'], queue: 'gpu' });
  });

  it('retries network errors, 5xx and 429 with the same key and body, backing off', async () => {
    const {
      client: c,
      calls,
      sleeps,
    } = client([refused(), json(503, {}), apiError(429, 'THROTTLED'), json(200, job)]);
    await expect(c.submitJob({ command: ['x'] }, { idempotencyKey: 'same' })).resolves.toEqual(job);
    expect(calls).toHaveLength(4);
    expect(new Set(calls.map((call) => call.headers['idempotency-key']))).toEqual(new Set(['same']));
    expect(new Set(calls.map((call) => call.body)).size).toBe(1);
    expect(sleeps).toEqual([200, 400, 800]);
  });

  it('makes a fresh key per call when none is given, and keeps it across that call’s retries', async () => {
    const { client: c, calls } = client([json(502, {}), json(201, job), json(201, job)]);
    await c.submitJob({ command: ['x'] });
    await c.submitJob({ command: ['x'] });
    const keys = calls.map((call) => call.headers['idempotency-key']);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
  });

  it('gives up after the configured tries with the last error', async () => {
    const { client: c, calls } = client([
      json(500, {}),
      json(500, {}),
      json(500, {}),
      apiError(503, 'DEPENDENCY_UNAVAILABLE', 'dynamodb is unavailable'),
    ]);
    const error = await c.submitJob({ command: ['x'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 503,
      code: 'DEPENDENCY_UNAVAILABLE',
      message: 'dynamodb is unavailable',
    });
    expect(calls).toHaveLength(4);
  });

  it('reports an unreachable API as a ConnectionError with the system code', async () => {
    const { client: c, calls } = client([refused(), refused(), refused(), refused()]);
    const error = await c.submitJob({ command: ['x'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ reason: 'ECONNREFUSED', baseUrl: 'http://api.test' });
    expect(calls).toHaveLength(4);
  });

  it.each([
    [400, 'INVALID_ARGUMENT'],
    [401, 'UNAUTHENTICATED'],
    [404, 'NOT_FOUND'],
    [409, 'IDEMPOTENCY_KEY_REUSED'],
  ])('does not retry %i %s', async (status, code) => {
    const {
      client: c,
      calls,
      sleeps,
    } = client([apiError(status, code, 'nope', { fields: [{ path: 'queue', message: 'bad' }] })]);
    const error = await c.submitJob({ command: ['x'] }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      status,
      code,
      message: 'nope',
      details: { fields: [{ path: 'queue', message: 'bad' }] },
    });
    expect(calls).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('waits as long as Retry-After asks, capped by the policy', async () => {
    const { client: c, sleeps } = client([
      json(429, {}, { 'retry-after': '3' }),
      json(429, {}, { 'retry-after': '3600' }),
      json(201, job),
    ]);
    await c.submitJob({ command: ['x'] });
    expect(sleeps).toEqual([3000, 5000]);
  });
});

describe('RunplaneClient.cancelJob', () => {
  it('retries only what the server cannot have acted on: refused connections and 429', async () => {
    const { client: c, calls } = client([
      refused(),
      apiError(429, 'THROTTLED'),
      json(200, { ...job, state: 'CANCELLED' }),
    ]);
    await expect(c.cancelJob('01JOB')).resolves.toMatchObject({ state: 'CANCELLED' });
    expect(calls.map((call) => `${call.method} ${call.url}`)).toEqual(
      Array(3).fill('POST http://api.test/v1/jobs/01JOB/cancel'),
    );
  });

  it('does not retry a 5xx or a broken connection, where the cancel may already have happened', async () => {
    const first = client([apiError(502, 'BAD_GATEWAY')]);
    await expect(first.client.cancelJob('01JOB')).rejects.toMatchObject({ status: 502 });
    expect(first.calls).toHaveLength(1);
    const second = client([reset()]);
    await expect(second.client.cancelJob('01JOB')).rejects.toBeInstanceOf(ConnectionError);
    expect(second.calls).toHaveLength(1);
  });
});

describe('RunplaneClient reads', () => {
  it('builds query strings, leaving out unset values, and escapes ids', async () => {
    const { client: c, calls } = client([
      json(200, { jobs: [], nextCursor: null }),
      json(200, { events: [], next: 0, hasMore: false }),
      json(200, job),
    ]);
    await c.listJobs({ state: 'FAILED', limit: 5 });
    await c.listEvents('01JOB', { attempt: 2, after: 17 });
    await c.getJob('a/b');
    expect(calls.map((call) => call.url)).toEqual([
      'http://api.test/v1/jobs?state=FAILED&limit=5',
      'http://api.test/v1/jobs/01JOB/events?attempt=2&after=17',
      'http://api.test/v1/jobs/a%2Fb',
    ]);
  });

  it('sends the bearer token when there is one, and no Authorization header otherwise', async () => {
    const withToken = client([json(200, job)], { token: 'tok-123' });
    await withToken.client.getJob('01JOB');
    expect(withToken.calls[0]?.headers.authorization).toBe('Bearer tok-123');
    const without = client([json(200, job)]);
    await without.client.getJob('01JOB');
    expect(without.calls[0]?.headers).not.toHaveProperty('authorization');
  });

  it('returns logs as text with the truncation headers', async () => {
    const { client: c, calls } = client([
      new Response('line 1\n', {
        status: 200,
        headers: {
          'content-type': 'text/plain',
          'x-runplane-attempt': '2',
          'x-runplane-truncated': 'true',
          'x-runplane-next-after': '41',
        },
      }),
      new Response('', { status: 200, headers: { 'content-type': 'text/plain' } }),
    ]);
    await expect(c.getLogs('01JOB')).resolves.toEqual({
      bytes: Buffer.from('line 1\n'),
      attempt: 2,
      truncated: true,
      next: 41,
    });
    await expect(c.getLogs('01JOB', 3)).resolves.toEqual({
      bytes: Buffer.alloc(0),
      attempt: 3,
      truncated: false,
      next: undefined,
    });
    expect(calls[1]?.url).toBe('http://api.test/v1/jobs/01JOB/logs?attempt=3');
  });

  it('describes a response that is not the API error shape by its status and body', async () => {
    const { client: c } = client([
      new Response('<html>Forbidden</html>', { status: 403, headers: { 'content-type': 'text/html' } }),
    ]);
    await expect(c.getJob('x')).rejects.toMatchObject({
      status: 403,
      code: 'HTTP_403',
      message: '<html>Forbidden</html>',
    });
  });
});

describe('networkErrorCode', () => {
  it.each([
    [refused(), 'ECONNREFUSED'],
    [
      new TypeError('fetch failed', {
        cause: new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]),
      }),
      'ECONNREFUSED',
    ],
    [new DOMException('timed out', 'TimeoutError'), 'ETIMEDOUT'],
    [new TypeError('fetch failed', { cause: new Error('bad port') }), undefined],
  ])('%s → %s', (error, code) => {
    expect(networkErrorCode(error)).toBe(code);
  });
});
