import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiDependencies } from '../../core/app/api-dependencies.ts';
import { createJobQueue } from '../../core/app/dispatch-dependencies.ts';
import { bootstrapAdminKey } from '../../core/auth/bootstrap-admin-key.ts';
import type { Role } from '../../core/auth/caller.ts';
import { DynamoDbApiKeyStore } from '../../core/auth/dynamodb-api-key-store.ts';
import type { RuntimeConfig } from '../../core/config.ts';
import { createHandlers } from '../../lambdas/handlers.ts';
import { ROUTES } from '../../lambdas/routes.ts';
import { startLocalApiServer, type LocalApiServer } from '../../local/http-server.ts';
import { createTestEnvironment, runtimeConfigFor, type TestEnvironment } from '../support/emulators.ts';
import { DynamoDbWorkerRegistry } from '../../core/workers/dynamodb-registry.ts';
import { JobNotFoundError } from '../../core/errors.ts';
import type { ApiDependencies } from '../../core/app/api-dependencies.ts';

/**
 * Role × action × own/other group, through the real handlers over HTTP. Callers are API keys of
 * group `ml`; "other" targets group `vision`. The statuses are written out, not derived from the
 * policy table: 404 where the caller may not see the job at all, 403 where it may see the target
 * but not act on it.
 */

type Action = 'read' | 'events' | 'logs' | 'list' | 'submit' | 'cancel' | 'retry' | 'workers' | 'listKeys';

const EXPECTED: [Role, Action, own: number, other: number][] = [
  ['admin', 'read', 200, 200],
  ['admin', 'events', 200, 200],
  ['admin', 'logs', 200, 200],
  ['admin', 'list', 200, 200],
  ['admin', 'submit', 201, 201],
  ['admin', 'cancel', 200, 200],
  ['admin', 'retry', 200, 200],
  ['admin', 'workers', 200, 200],
  ['admin', 'listKeys', 200, 200],
  ['member', 'read', 200, 404],
  ['member', 'events', 200, 404],
  ['member', 'logs', 200, 404],
  ['member', 'list', 200, 403],
  ['member', 'submit', 201, 403],
  ['member', 'cancel', 200, 404],
  ['member', 'retry', 200, 404],
  ['member', 'workers', 200, 200],
  ['member', 'listKeys', 403, 403],
  ['viewer', 'read', 200, 404],
  ['viewer', 'events', 200, 404],
  ['viewer', 'logs', 200, 404],
  ['viewer', 'list', 200, 403],
  ['viewer', 'submit', 403, 403],
  ['viewer', 'cancel', 403, 404],
  ['viewer', 'retry', 403, 404],
  ['viewer', 'workers', 200, 200],
  ['viewer', 'listKeys', 403, 403],
];

const CASES = EXPECTED.flatMap(([role, action, own, other]) => [
  [role, action, 'own', own] as const,
  [role, action, 'other', other] as const,
]);

describe('authorization through the API', () => {
  let env: TestEnvironment;
  let server: LocalApiServer;
  let adminKey: string;
  let deps: ApiDependencies;
  let config: RuntimeConfig;
  const keys = new Map<Role, string>();

  beforeAll(async () => {
    env = await createTestEnvironment();
    config = runtimeConfigFor(env);
    deps = createApiDependencies(config, { queue: createJobQueue(config), log: () => undefined });
    server = await startLocalApiServer({ routes: ROUTES, handlers: createHandlers(async () => deps), log: () => undefined });
    let stored: string | undefined;
    await bootstrapAdminKey({
      store: new DynamoDbApiKeyStore({ client: env.documentClient, tableName: config.tables.jobs }),
      secret: { read: async () => stored, write: async (v) => void (stored = v) },
    });
    adminKey = stored!;
    for (const role of ['admin', 'member', 'viewer'] as const) {
      const res = await call('POST', '/v1/api-keys', adminKey, { name: role, role, groups: ['ml'] });
      keys.set(role, res.body.key as string);
    }
  });

  afterAll(async () => {
    await server?.close();
    await env?.cleanup();
  });

  async function call(method: string, path: string, token: string, body?: unknown) {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, body: (type.includes('json') ? JSON.parse(text) : { text }) as Record<string, unknown> };
  }

  /** A fresh job of `group`, made by the admin: QUEUED, or CANCELLED (finished) for a retry. */
  async function jobIn(group: string, finished: boolean): Promise<string> {
    const { body } = await call('POST', '/v1/jobs', adminKey, { command: ['true'], group });
    const id = body.id as string;
    if (finished) expect((await call('POST', `/v1/jobs/${id}/cancel`, adminKey)).body.state).toBe('CANCELLED');
    return id;
  }

  it.each(CASES)('%s %s in %s group → %i', async (role, action, where, expected) => {
    const token = keys.get(role)!;
    const group = where === 'own' ? 'ml' : 'vision';
    let jobId: string | undefined;
    let res: { status: number; body: Record<string, unknown> };
    switch (action) {
      case 'read':
      case 'events':
      case 'logs':
        jobId = await jobIn(group, false);
        res = await call('GET', `/v1/jobs/${jobId}${action === 'read' ? '' : `/${action}`}`, token);
        break;
      case 'list':
        jobId = await jobIn(group, false);
        res = await call('GET', `/v1/jobs?group=${group}`, token);
        if (res.status === 200) expect((res.body.jobs as { id: string }[]).map((j) => j.id)).toContain(jobId);
        break;
      case 'submit':
        res = await call('POST', '/v1/jobs', token, { command: ['true'], group });
        if (res.status === 201) expect(res.body.group).toBe(group);
        break;
      case 'cancel':
        jobId = await jobIn(group, false);
        res = await call('POST', `/v1/jobs/${jobId}/cancel`, token);
        break;
      case 'retry':
        jobId = await jobIn(group, true);
        res = await call('POST', `/v1/jobs/${jobId}/retry`, token);
        break;
      case 'workers':
        res = await call('GET', '/v1/workers', token);
        break;
      case 'listKeys':
        res = await call('GET', '/v1/api-keys', token);
        break;
    }
    expect(res.status, JSON.stringify(res.body)).toBe(expected);
    if (expected === 404) {
      // Exactly the answer for a job that does not exist.
      const missingId = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
      const missing = await call('GET', `/v1/jobs/${missingId}`, token);
      const shape = (id: string) => ({ error: { code: 'NOT_FOUND', message: `job ${id} not found`, details: { jobId: id } } });
      expect(missing.body).toEqual(shape(missingId));
      expect(res.body).toEqual(shape(jobId!));
    }
    if (expected === 403) expect(res.body.error).toMatchObject({ code: 'PERMISSION_DENIED' });
    if (jobId && (action === 'cancel' || action === 'retry') && expected >= 400) {
      // A refused mutation changed nothing.
      const after = await call('GET', `/v1/jobs/${jobId}`, adminKey);
      expect(after.body).toMatchObject({ state: action === 'cancel' ? 'QUEUED' : 'CANCELLED', attempt: 0 });
    }
  });

  it("POST /v1/jobs depending on another group's job answers 404 exactly as GET of that job, and of a missing one", async () => {
    const token = keys.get('member')!;
    const theirs = await jobIn('vision', false);
    const ours = await jobIn('ml', false);
    const missingId = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
    const shape = (id: string) => ({ error: { code: 'NOT_FOUND', message: `job ${id} not found`, details: { jobId: id } } });
    const submit = (job: string) => call('POST', '/v1/jobs', token, { command: ['true'], dependsOn: [{ job, type: 'afterok' }] });
    for (const id of [theirs, missingId]) {
      const res = await submit(id);
      expect(res.status).toBe(404);
      expect(res.body).toEqual(shape(id));
      expect((await call('GET', `/v1/jobs/${id}`, token)).body).toEqual(shape(id));
    }
    // A job of the caller's own group may be named: the dependent is stored, held.
    const held = await submit(ours);
    expect(held.status).toBe(201);
    expect(held.body).toMatchObject({ state: 'QUEUED', dependsOn: [{ job: ours, type: 'afterok' }], hold: { code: 'Dependency' } });
  });

  it('defaults to the caller\'s first group, and lists by group without leaking others', async () => {
    const multi = (await call('POST', '/v1/api-keys', adminKey, { name: 'two', role: 'member', groups: ['nlp', 'ml'] })).body.key as string;
    const submitted = await call('POST', '/v1/jobs', multi, { command: ['true'] });
    expect(submitted.body.group).toBe('nlp');
    const listed = await call('GET', '/v1/jobs?limit=100', multi);
    const groups = new Set((listed.body.jobs as { group: string }[]).map((j) => j.group));
    expect([...groups]).toEqual(['nlp']);
  });

  it('an idempotent replay by the same subject in another group answers 404, never the other group\'s job', async () => {
    // One person, two tokens over time: first in group `a`, later only in `b`. The guard key is
    // scoped to the subject, and the body names no group, so the request hashes the same.
    const inA = { subject: 'alice@example.com', role: 'member' as const, groups: ['a'] };
    const inB = { subject: 'alice@example.com', role: 'member' as const, groups: ['b'] };
    const body = { command: ['true'], name: 'replayed' };
    const first = await deps.jobs.submit(body, inA, { idempotencyKey: 'same-key-1' });
    expect(first).toMatchObject({ created: true, job: { group: 'a' } });
    await expect(deps.jobs.submit(body, inB, { idempotencyKey: 'same-key-1' })).rejects.toBeInstanceOf(JobNotFoundError);
    // The same subject in the original group still gets its job back.
    expect(await deps.jobs.submit(body, inA, { idempotencyKey: 'same-key-1' })).toMatchObject({ created: false, job: { id: first.job.id } });
  });

  it('GET /v1/workers shows another group\'s running jobs only to admins (others see busy slots)', async () => {
    const registry = new DynamoDbWorkerRegistry({ client: env.documentClient, tableName: config.tables.jobs });
    const mine = '01ARZ3NDEKTSV4RRFFQ69G5FA1';
    const theirs = '01ARZ3NDEKTSV4RRFFQ69G5FA2';
    const now = new Date().toISOString();
    await registry.report({
      workerId: 'visibility-worker',
      pool: 'default',
      hostname: 'h',
      pid: 1,
      concurrency: 4,
      gpus: [],
      runningJobs: [mine, theirs],
      runningJobGroups: { [mine]: 'ml', [theirs]: 'vision' },
      startedAt: now,
      lastSeenAt: now,
      draining: false,
    });
    const seenBy = async (token: string) => {
      const res = await call('GET', '/v1/workers', token);
      expect(res.status).toBe(200);
      return (res.body.workers as { workerId: string; runningJobs: string[]; busySlots: number }[]).find((w) => w.workerId === 'visibility-worker')!;
    };
    expect(await seenBy(keys.get('member')!)).toMatchObject({ runningJobs: [mine], busySlots: 2 });
    expect(await seenBy(keys.get('viewer')!)).toMatchObject({ runningJobs: [mine], busySlots: 2 });
    expect((await seenBy(adminKey)).runningJobs).toEqual([mine, theirs]);
    expect(JSON.stringify(await seenBy(keys.get('member')!))).not.toContain('vision');
  });
});
