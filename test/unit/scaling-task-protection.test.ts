import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TaskProtectionError, setTaskProtection } from '../../core/worker/task-protection.ts';

interface Received {
  method: string;
  url: string;
  contentType: string | undefined;
  body: unknown;
}

// A loopback stand-in for the ECS agent: records each request and answers with the next scripted reply.
describe('setTaskProtection', () => {
  let server: Server;
  let agentUri: string;
  const received: Received[] = [];
  let reply: { status: number; body: string } = { status: 200, body: '{}' };

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => resolve(data));
    });

  beforeAll(async () => {
    server = createServer((req, res) => {
      void readBody(req).then((body) => {
        received.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], body: JSON.parse(body) });
        res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    agentUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/task-1234`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    received.length = 0;
  });

  const env = () => ({ ECS_AGENT_URI: agentUri });
  const taskArn = 'arn:aws:ecs:us-east-1:123456789012:task/runplane/1234';

  it('enables protection for the requested minutes', async () => {
    reply = {
      status: 200,
      body: JSON.stringify({ protection: { ExpirationDate: '2026-01-01T01:00:00Z', ProtectionEnabled: true, TaskArn: taskArn } }),
    };
    const state = await setTaskProtection(true, 60, { env: env() });
    expect(received).toEqual([
      {
        method: 'PUT',
        url: '/api/task-1234/task-protection/v1/state',
        contentType: 'application/json',
        body: { ProtectionEnabled: true, ExpiresInMinutes: 60 },
      },
    ]);
    expect(state).toEqual({ protectionEnabled: true, expirationDate: '2026-01-01T01:00:00Z', taskArn });
  });

  it('sends the ECS default expiry when none is given, and disables without one', async () => {
    reply = { status: 200, body: JSON.stringify({ protection: { ProtectionEnabled: true, TaskArn: taskArn } }) };
    await setTaskProtection(true, undefined, { env: env() });
    reply = { status: 200, body: JSON.stringify({ protection: { ProtectionEnabled: false, TaskArn: taskArn } }) };
    const state = await setTaskProtection(false, undefined, { env: env() });
    expect(received.map((r) => r.body)).toEqual([{ ProtectionEnabled: true, ExpiresInMinutes: 120 }, { ProtectionEnabled: false }]);
    expect(state).toEqual({ protectionEnabled: false, taskArn });
  });

  it('is a no-op without ECS_AGENT_URI (local runs)', async () => {
    expect(await setTaskProtection(true, 60, { env: {} })).toBeUndefined();
    expect(received).toEqual([]);
  });

  it.each([
    ['an HTTP error with an error body', 400, { error: { Code: 'AccessDeniedException', Message: 'not authorized to perform ecs:UpdateTaskProtection' } }, 'AccessDeniedException'],
    ['a 200 carrying a failure', 200, { failure: { Arn: taskArn, Reason: 'TASK_NOT_VALID', Detail: 'task is stopping' } }, 'TASK_NOT_VALID: task is stopping'],
    ['an HTTP error without a body', 500, null, 'HTTP 500'],
  ])('throws TaskProtectionError on %s', async (_case, status, body, message) => {
    reply = { status, body: body === null ? '' : JSON.stringify(body) };
    const err = await setTaskProtection(true, 5, { env: env() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskProtectionError);
    expect((err as Error).message).toContain(message);
    expect((err as TaskProtectionError).status).toBe(status);
  });

  it('throws TaskProtectionError when the agent is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(setTaskProtection(true, 5, { env: { ECS_AGENT_URI: `http://127.0.0.1:${port}` } })).rejects.toBeInstanceOf(TaskProtectionError);
  });

  it.each([0, 2881, 1.5])('rejects an expiry of %s minutes before calling the agent', async (minutes) => {
    await expect(setTaskProtection(true, minutes, { env: env() })).rejects.toThrow(RangeError);
    expect(received).toEqual([]);
  });
});
