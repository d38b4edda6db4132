import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, RunplaneClient, networkErrorCode } from '../../cli/api-client.ts';
import { nodeHttpTransport } from '../../cli/node-http-transport.ts';
import { freePort } from '../../local/dynamodb-local.ts';

/** The CLI's `node:http` transport against a real loopback server: what the client reads, and fetch-shaped errors. */
describe('nodeHttpTransport', () => {
  let server: Server;
  let base: string;
  const seen: { method?: string; url?: string; headers: Record<string, unknown>; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2_000);
        if (req.url?.endsWith('/missing')) {
          res.writeHead(404, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no such job', details: {} } }));
        }
        res.writeHead(201, { 'content-type': 'application/json', 'x-runplane-truncated': 'true' });
        res.end(JSON.stringify({ id: '01JOB', echo: body ? (JSON.parse(body) as unknown) : null, text: 'ü€😀' }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('sends method, headers and body, and reads status, headers and UTF-8 text', async () => {
    const response = await nodeHttpTransport(`${base}/v1/jobs?x=1`, {
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: JSON.stringify({ command: ['é'] }),
      signal: AbortSignal.timeout(5_000),
    });
    expect(response.ok).toBe(true);
    expect(response.status).toBe(201);
    expect(response.headers.get('X-Runplane-Truncated')).toBe('true');
    expect(response.headers.get('absent')).toBeNull();
    expect(JSON.parse(await response.text())).toEqual({ id: '01JOB', echo: { command: ['é'] }, text: 'ü€😀' });
    const request = seen.at(-1)!;
    expect(request).toMatchObject({ method: 'POST', url: '/v1/jobs?x=1', body: '{"command":["é"]}' });
    expect(request.headers).toMatchObject({ authorization: 'Bearer t', 'content-length': String(Buffer.byteLength('{"command":["é"]}')) });
  });

  it('drives the client: API errors, refused connections and timeouts as fetch would report them', async () => {
    const client = new RunplaneClient({ baseUrl: base, token: 'k', fetch: nodeHttpTransport, retry: { attempts: 1 } });
    expect(await client.getJob('x')).toMatchObject({ id: '01JOB' });
    await expect(client.getJob('missing')).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND', message: 'no such job' });

    const refused = await nodeHttpTransport(`http://127.0.0.1:${await freePort()}/`, {
      method: 'GET',
      headers: {},
      body: undefined,
      signal: AbortSignal.timeout(5_000),
    }).catch((e: unknown) => e);
    expect(networkErrorCode(refused)).toBe('ECONNREFUSED');

    const timeout = await nodeHttpTransport(`${base}/slow`, { method: 'GET', headers: {}, body: undefined, signal: AbortSignal.timeout(100) }).catch(
      (e: unknown) => e,
    );
    expect(networkErrorCode(timeout)).toBe('ETIMEDOUT');
    const unreachable = new RunplaneClient({ baseUrl: `http://127.0.0.1:${await freePort()}`, fetch: nodeHttpTransport, retry: { attempts: 1 } });
    await expect(unreachable.getJob('x')).rejects.toBeInstanceOf(ConnectionError);
  });
});
