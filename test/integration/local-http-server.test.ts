import { connect } from 'node:net';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import {
  startLocalApiServer,
  type LocalApiServer,
  type LocalApiServerOptions,
  type LocalHandler,
} from '../../local/http-server.ts';

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}
function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const ROUTES = [
  { routeKey: 'GET /healthz', name: 'healthz' },
  { routeKey: 'GET /v1/jobs/{id}', name: 'getJob' },
  { routeKey: 'POST /v1/jobs', name: 'submitJob' },
  { routeKey: 'POST /blobs', name: 'blob' },
  { routeKey: 'GET /boom', name: 'boom' },
  { routeKey: 'GET /malformed', name: 'malformed' },
  { routeKey: 'GET /slow', name: 'slow' },
];

describe('local API server', () => {
  const servers: LocalApiServer[] = [];
  const cleanups: (() => void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) c();
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  /** Starts a server on a random port with recording fake handlers; `overrides` replaces any. */
  async function start(
    overrides: Partial<LocalApiServerOptions> & { handlers?: Record<string, LocalHandler> } = {},
  ) {
    const calls: { name: string; event: APIGatewayProxyEventV2; context: Context }[] = [];
    const logs: string[] = [];
    const record =
      (name: string, fn: LocalHandler): LocalHandler =>
      async (event, context) => {
        calls.push({ name, event, context });
        return fn(event, context);
      };
    const handlers: Record<string, LocalHandler> = {
      healthz: record('healthz', async () => ({
        statusCode: 200,
        headers: { 'content-type': 'text/plain' },
        body: 'ok',
      })),
      getJob: record('getJob', async (event) => ({
        statusCode: 200,
        headers: {
          'content-type': 'application/json',
          'access-control-allow-origin': 'https://evil.example',
        },
        cookies: ['seen=1; Path=/', 'theme=dark'],
        body: JSON.stringify({ id: event.pathParameters?.['id'], tag: event.queryStringParameters?.['tag'] }),
      })),
      submitJob: record('submitJob', async (event) => ({
        received: JSON.parse(event.body ?? 'null') as unknown,
      })),
      blob: record('blob', async (event) => ({
        statusCode: 200,
        headers: { 'content-type': 'application/octet-stream' },
        body: event.body ?? '',
        isBase64Encoded: event.isBase64Encoded,
      })),
      boom: record('boom', async () => {
        throw new Error('connection to db-internal.example:5432 refused (password=hunter2)');
      }),
      malformed: record('malformed', async () => ({ statusCode: 'teapot' }) as never),
      slow: record('slow', () => new Promise(() => undefined)),
      ...overrides.handlers,
    };
    const server = await startLocalApiServer({
      routes: ROUTES,
      log: (l) => logs.push(l),
      ...overrides,
      handlers,
    });
    servers.push(server);
    return { server, calls, logs };
  }

  it('routes to the handler with path parameters, query, cookies and a Lambda context', async () => {
    const { server, calls, logs } = await start();
    const res = await fetch(`${server.url}/v1/jobs/a%2Fb?tag=x&tag=y`, {
      headers: { cookie: 'session=s1; theme=light' },
    });

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: 'a/b', tag: 'x,y' });
    expect(res.headers.getSetCookie()).toEqual(['seen=1; Path=/', 'theme=dark']);
    expect(res.headers.get('apigw-requestid')).toMatch(/^[A-Za-z0-9+/]{15}=$/);

    expect(calls).toHaveLength(1);
    const { event, context } = calls[0]!;
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /v1/jobs/{id}',
      rawPath: '/v1/jobs/a%2Fb',
      rawQueryString: 'tag=x&tag=y',
      cookies: ['session=s1', 'theme=light'],
      pathParameters: { id: 'a/b' },
      queryStringParameters: { tag: 'x,y' },
      isBase64Encoded: false,
      requestContext: {
        http: { method: 'GET', path: '/v1/jobs/a%2Fb', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1' },
        requestId: res.headers.get('apigw-requestid'),
        stage: '$default',
        domainName: `127.0.0.1:${server.port}`,
      },
    });
    expect(event.headers['host']).toBe(`127.0.0.1:${server.port}`);
    expect(event).not.toHaveProperty('body');
    expect(context.functionName).toBe('getJob');
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(29_000);
    expect(logs).toContainEqual(expect.stringMatching(/^GET \/v1\/jobs\/a%2Fb 200 \d+ms$/));
  });

  it('passes JSON bodies as text and binary bodies as base64, both ways', async () => {
    const { server, calls } = await start();
    const submitted = await fetch(`${server.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ command: ['echo', 'hi'] }),
    });
    // A plain object result is sent as 200 JSON, as API Gateway infers for payload 2.0.
    expect(submitted.status).toBe(200);
    expect(submitted.headers.get('content-type')).toBe('application/json');
    expect(await submitted.json()).toEqual({ received: { command: ['echo', 'hi'] } });

    const bytes = new Uint8Array([0, 255, 1, 128, 10, 13]);
    const echoed = await fetch(`${server.url}/blobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(echoed.status).toBe(200);
    expect(new Uint8Array(await echoed.arrayBuffer())).toEqual(bytes);
    expect(calls.find((c) => c.name === 'blob')?.event).toMatchObject({
      isBase64Encoded: true,
      body: Buffer.from(bytes).toString('base64'),
    });
  });

  it('answers an unknown route with the NOT_FOUND error shape when there is no $default route', async () => {
    const { server, calls } = await start();
    const res = await fetch(`${server.url}/nope?x=1`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      error: { code: 'NOT_FOUND', message: 'no route for GET /nope', details: {} },
    });
    // The method is part of the route.
    expect((await fetch(`${server.url}/healthz`, { method: 'DELETE' })).status).toBe(404);
    expect(calls).toHaveLength(0);
  });

  it('sends unmatched requests to $default when the API has one', async () => {
    const seen: string[] = [];
    const { server } = await start({
      routes: [...ROUTES, { routeKey: '$default', name: 'notFound' }],
      handlers: {
        notFound: async (event) => {
          seen.push(`${event.routeKey} ${event.rawPath}`);
          return { statusCode: 404, body: 'from $default' };
        },
      },
    });
    const res = await fetch(`${server.url}/v1/jobs/x/y`);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('from $default');
    expect(seen).toEqual(['$default /v1/jobs/x/y']);
  });

  it('refuses a body over the cap with 413 without calling the handler', async () => {
    const { server, calls, logs } = await start({ maxPayloadBytes: 1024 });
    const at = await fetch(`${server.url}/blobs`, { method: 'POST', body: new Uint8Array(1024) });
    expect(at.status).toBe(200);

    const expected = {
      error: {
        code: 'PAYLOAD_TOO_LARGE',
        message: 'request body exceeds 1024 bytes',
        details: { maxBytes: 1024 },
      },
    };
    const declared = await fetch(`${server.url}/blobs`, { method: 'POST', body: new Uint8Array(1025) });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toEqual(expected);

    // Without a content-length the cap applies while streaming; a client that keeps sending is cut off.
    let sent = 0;
    const chunk = new Uint8Array(64 * 1024);
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const streamed = await fetch(`${server.url}/blobs`, {
      method: 'POST',
      body: endless,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(streamed.headers.get('connection')).toBe('close');
    expect(await streamed.json()).toEqual(expected);
    expect(sent).toBeLessThan(64 * 1024 * 1024);

    expect(calls.map((c) => c.name)).toEqual(['blob']);
    expect(logs.filter((l) => / 413 \d+ms$/.test(l))).toHaveLength(2);
  });

  it('answers a failing handler with a generic 500 and logs the cause', async () => {
    const { server, logs } = await start();
    for (const path of ['/boom', '/malformed']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({
        error: { code: 'INTERNAL', message: 'Internal Server Error', details: {} },
      });
      expect(text).not.toMatch(/hunter2|db-internal|teapot/);
    }
    expect(logs.some((l) => l.includes('handler boom failed') && l.includes('hunter2'))).toBe(true);
    expect(logs.some((l) => l.includes('handler malformed failed') && l.includes('statusCode'))).toBe(true);
  });

  it('answers 503 when a handler runs past the integration timeout', async () => {
    const release = deferred();
    cleanups.push(() => release.resolve());
    const { server, logs } = await start({
      timeoutMs: 50,
      handlers: { slow: async () => release.promise.then(() => ({ statusCode: 200, body: 'late' })) },
    });
    const res = await fetch(`${server.url}/slow`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      error: { code: 'SERVICE_UNAVAILABLE', message: 'Service Unavailable', details: {} },
    });
    expect(logs.some((l) => l.includes('exceeded the 50 ms integration timeout'))).toBe(true);
  });

  it('answers CORS preflights itself and puts the configured CORS headers on responses', async () => {
    const origin = 'http://localhost:5173';
    const { server, calls } = await start({ cors: { allowOrigins: [origin] } });

    const preflight = await fetch(`${server.url}/v1/jobs/abc`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    expect(preflight.headers.get('access-control-allow-methods')?.split(',').sort()).toEqual(['GET', 'POST']);
    expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization,content-type');
    expect(preflight.headers.get('access-control-max-age')).toBe('300');

    // Another origin gets the 204 but nothing that lets a browser go on.
    const foreign = await fetch(`${server.url}/v1/jobs/abc`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(foreign.status).toBe(204);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    expect(calls).toHaveLength(0);

    // The gateway's CORS headers replace the ones the handler returned.
    const actual = await fetch(`${server.url}/v1/jobs/abc`, { headers: { origin } });
    expect(actual.status).toBe(200);
    expect(actual.headers.get('access-control-allow-origin')).toBe(origin);

    // An OPTIONS request that is not a preflight is routed like any other.
    expect((await fetch(`${server.url}/v1/jobs/abc`, { method: 'OPTIONS' })).status).toBe(404);
  });

  it('has no CORS behaviour unless configured', async () => {
    const { server } = await start();
    const res = await fetch(`${server.url}/v1/jobs/abc`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'GET' },
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('close() stops accepting, lets an in-flight request finish, then resolves', async () => {
    const entered = deferred();
    const release = deferred();
    const { server } = await start({
      handlers: {
        slow: async () => {
          entered.resolve();
          await release.promise;
          return { statusCode: 200, body: 'finished' };
        },
      },
    });
    const inFlight = fetch(`${server.url}/slow`);
    await entered.promise;

    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    expect(closed).toBe(false);

    release.resolve();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.headers.get('connection')).toBe('close');
    expect(await res.text()).toBe('finished');
    await closing;
    expect(closed).toBe(true);
  });

  it('close() gives up on a request still running after the grace period', async () => {
    const entered = deferred();
    const { server } = await start({
      shutdownGraceMs: 50,
      handlers: {
        slow: async () => {
          entered.resolve();
          return new Promise(() => undefined);
        },
      },
    });
    const inFlight = fetch(`${server.url}/slow`);
    await entered.promise;
    await server.close();
    await expect(inFlight).rejects.toThrow();
  });

  it('does not wait on a client that disconnected halfway through its body', async () => {
    const gone = deferred();
    const { server, calls } = await start({
      shutdownGraceMs: 60_000,
      log: (line) => {
        if (line.startsWith('POST /blobs ')) gone.resolve();
      },
    });
    const socket = connect(server.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write('POST /blobs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789');
    socket.destroy();
    await gone.promise;
    // With the half-read request still counted as in flight, this would wait out the 60 s grace.
    await server.close();
    expect(calls).toHaveLength(0);
  });

  it('fails start-up when a route has no handler or a malformed key', async () => {
    await expect(
      startLocalApiServer({ routes: [{ routeKey: 'GET /x', name: 'missing' }], handlers: {} }),
    ).rejects.toThrow(/no handler for route "GET \/x"/);
    await expect(
      startLocalApiServer({
        routes: [{ routeKey: 'GET /x/{a+}/y', name: 'x' }],
        handlers: { x: async () => 'x' },
      }),
    ).rejects.toThrow(/greedy/);
  });
});
