import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiDependencies } from '../../core/app/api-dependencies.ts';
import { createJobQueue } from '../../core/app/dispatch-dependencies.ts';
import { bootstrapAdminKey } from '../../core/auth/bootstrap-admin-key.ts';
import type { Role } from '../../core/auth/caller.ts';
import { DynamoDbApiKeyStore } from '../../core/auth/dynamodb-api-key-store.ts';
import { createHandlers } from '../../lambdas/handlers.ts';
import { ROUTES } from '../../lambdas/routes.ts';
import { startLocalApiServer, type LocalApiServer } from '../../local/http-server.ts';
import { createTestEnvironment, runtimeConfigFor, type TestEnvironment } from '../support/emulators.ts';
import { checkResponsesAgainstContract } from '../support/response-contract.ts';

/** The fields these tests read from the answers. */
interface Body {
  readonly group: Record<string, unknown>;
  readonly groups: { readonly name: string }[];
  readonly entries: { action: string; target: string; actor: string; details: unknown }[];
  readonly error: { code: string; details: unknown };
  readonly key: string;
}

/** `/v1/groups` through the real handlers over HTTP, with API keys of each role in group `ml`. */
describe('groups API', () => {
  let env: TestEnvironment;
  let server: LocalApiServer;
  let contract: ReturnType<typeof checkResponsesAgainstContract<keyof ReturnType<typeof createHandlers>>>;
  const keys = new Map<Role, string>();

  beforeAll(async () => {
    env = await createTestEnvironment();
    const config = runtimeConfigFor(env);
    const deps = createApiDependencies(config, { queue: createJobQueue(config), log: () => undefined });
    contract = checkResponsesAgainstContract(createHandlers(async () => deps));
    server = await startLocalApiServer({ routes: ROUTES, handlers: contract.handlers, log: () => undefined });
    let stored: string | undefined;
    await bootstrapAdminKey({
      store: new DynamoDbApiKeyStore({ client: env.documentClient, tableName: config.tables.jobs }),
      secret: { read: async () => stored, write: async (v) => void (stored = v) },
    });
    keys.set('admin', stored!);
    for (const role of ['member', 'viewer'] as const) {
      const res = await call('POST', '/v1/api-keys', 'admin', { name: role, role, groups: ['ml', '/lab/vision'] });
      keys.set(role, res.body.key);
    }
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await env?.cleanup();
  });

  async function call(method: string, path: string, as: Role, body?: unknown) {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${keys.get(as)!}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Body };
  }

  it('admins set quotas and weight; GET shows them with current use; each change is one audit entry', async () => {
    const put = await call('PUT', '/v1/groups/ml', 'admin', { maxGpus: 4, maxRunningJobs: 10, weight: 2 });
    expect(put).toEqual({
      status: 200,
      body: { group: { name: 'ml', maxGpus: 4, maxRunningJobs: 10, weight: 2, runningGpus: 0, runningJobs: 0, recentGpuSeconds: 0 } },
    });
    // Omitted fields keep their value; null removes a quota.
    const second = await call('PUT', '/v1/groups/ml', 'admin', { maxRunningJobs: null });
    expect(second.body.group).toMatchObject({ maxGpus: 4, maxRunningJobs: null, weight: 2 });
    expect((await call('GET', '/v1/groups/ml', 'admin')).body.group).toMatchObject({ maxGpus: 4, maxRunningJobs: null, weight: 2 });
    // A group name with slashes, URL-encoded in the path.
    expect((await call('PUT', `/v1/groups/${encodeURIComponent('/lab/vision')}`, 'admin', { weight: 3 })).body.group).toMatchObject({ name: '/lab/vision', weight: 3 });
    const audit = await call('GET', '/v1/audit?limit=1000', 'admin');
    const entries = audit.body.entries.filter((e) => e.action === 'group.update');
    expect(entries.map((e) => [e.target, e.details])).toEqual([
      ['group:ml', { group: 'ml', from: { maxGpus: null, maxRunningJobs: null, weight: 1 }, to: { maxGpus: 4, maxRunningJobs: 10, weight: 2 } }],
      ['group:ml', { group: 'ml', from: { maxGpus: 4, maxRunningJobs: 10, weight: 2 }, to: { maxGpus: 4, maxRunningJobs: null, weight: 2 } }],
      ['group:/lab/vision', { group: '/lab/vision', from: { maxGpus: null, maxRunningJobs: null, weight: 1 }, to: { maxGpus: null, maxRunningJobs: null, weight: 3 } }],
    ]);
    expect(new Set(entries.map((e) => e.actor)).size).toBe(1);
  });

  it('lists every group for admins and only their own for others; other groups are 404 to them', async () => {
    await call('PUT', '/v1/groups/physics', 'admin', { maxGpus: 1 });
    const all = await call('GET', '/v1/groups', 'admin');
    expect(all.body.groups.map((g) => g.name)).toEqual(expect.arrayContaining(['/lab/vision', 'ml', 'physics']));
    for (const role of ['member', 'viewer'] as const) {
      const mine = await call('GET', '/v1/groups', role);
      expect(mine.body.groups.map((g) => g.name)).toEqual(['/lab/vision', 'ml']);
      expect((await call('GET', '/v1/groups/ml', role)).status).toBe(200);
      expect(await call('GET', '/v1/groups/physics', role)).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    }
    // A group nobody configured answers its defaults.
    expect((await call('GET', '/v1/groups/fresh', 'admin')).body.group).toEqual({
      name: 'fresh', maxGpus: null, maxRunningJobs: null, weight: 1, runningGpus: 0, runningJobs: 0, recentGpuSeconds: 0,
    });
  });

  it('refuses quota changes by non-admins, even in their own group, and writes nothing', async () => {
    for (const role of ['member', 'viewer'] as const) {
      expect(await call('PUT', '/v1/groups/ml', role, { maxGpus: 100 })).toMatchObject({ status: 403, body: { error: { code: 'PERMISSION_DENIED' } } });
    }
    expect((await call('GET', '/v1/groups/ml', 'admin')).body.group.maxGpus).toBe(4);
  });

  it.each([
    [{ weight: 0 }, 'weight'],
    [{ weight: -1 }, 'weight'],
    [{ maxGpus: -1 }, 'maxGpus'],
    [{ maxGpus: 1.5 }, 'maxGpus'],
    [{ maxRunningJobs: 'ten' }, 'maxRunningJobs'],
    [{ maxgpus: 4 }, '(root)'],
    [{}, '(root)'],
    [[1], '(root)'],
  ])('400 for %j, naming %s', async (body, path) => {
    const res = await call('PUT', '/v1/groups/ml', 'admin', body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_ARGUMENT');
    expect(JSON.stringify(res.body.error.details)).toContain(path);
  });

  it('400 for a malformed group name and a body that is not JSON', async () => {
    expect((await call('PUT', '/v1/groups/bad%23name', 'admin', { weight: 1 })).status).toBe(400);
    expect((await call('GET', `/v1/groups/${'x'.repeat(200)}`, 'admin')).status).toBe(400);
    expect((await call('PUT', '/v1/groups/ml', 'admin', '{"weight":')).status).toBe(400);
  });

  it('answers every response within the route contract', () => {
    expect(contract.violations).toEqual([]);
  });
});
