/**
 * Tampering with audit items directly in DynamoDB Local (edit, delete, insert, swap, cut the
 * newest), then asking the core verify, the HTTP handler and the CLI (`runplane audit verify`,
 * server-side and `--local`) to name the first broken entry.
 */
import { Writable } from 'node:stream';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../cli/main.ts';
import type { ApiDependencies } from '../../core/app/api-dependencies.ts';
import { AuditService } from '../../core/audit/audit-service.ts';
import { chainKey, DynamoDbAuditLog } from '../../core/audit/dynamodb-audit-log.ts';
import { nextEntry, type AuditEntry } from '../../core/audit/entry.ts';
import { UnauthenticatedError } from '../../core/auth/errors.ts';
import { LOCAL_CALLER, type Caller } from '../../core/auth/caller.ts';
import type { RuntimeConfig } from '../../core/config.ts';
import { AUDIT_TABLE, EVENTS_TABLE, JOBS_TABLE, tableName } from '../../core/resources.ts';
import { createListAuditHandler } from '../../lambdas/list-audit.ts';
import { createVerifyAuditHandler } from '../../lambdas/verify-audit.ts';
import { startLocalApiServer, type LocalApiServer } from '../../local/http-server.ts';
import { createTestEnvironment, type TestEnvironment } from '../support/emulators.ts';
import { platformParts } from '../support/platform-parts.ts';

type Item = Record<string, unknown>;

const CALLERS: Record<string, Caller> = {
  'admin-token': LOCAL_CALLER,
  'viewer-token': { subject: 'vera', role: 'viewer', groups: ['default'] },
  'member-token': { subject: 'mo', role: 'member', groups: ['default'] },
};

function capture() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('audit verify names tampered entries', () => {
  let server: LocalApiServer;
  let deps: ApiDependencies;
  let env: TestEnvironment;
  let audit: DynamoDbAuditLog;
  let auditTable: string;

  beforeAll(async () => {
    const dependencies = async () => deps;
    server = await startLocalApiServer({
      routes: [
        { routeKey: 'GET /v1/audit', name: 'listAudit' },
        { routeKey: 'GET /v1/audit/verify', name: 'verifyAudit' },
      ],
      handlers: { listAudit: createListAuditHandler(dependencies), verifyAudit: createVerifyAuditHandler(dependencies) },
      log: () => undefined,
    });
  });
  afterAll(async () => server.close());

  beforeEach(async () => {
    env = await createTestEnvironment();
    const parts = platformParts(env);
    audit = parts.store.audit;
    auditTable = tableName(env.prefix, AUDIT_TABLE);
    const config: RuntimeConfig = {
      tables: { jobs: tableName(env.prefix, JOBS_TABLE), events: tableName(env.prefix, EVENTS_TABLE), audit: auditTable },
      queues: [],
      endpoints: { dynamodb: env.dynamoEndpoint },
      region: 'us-east-1',
    } as unknown as RuntimeConfig;
    deps = {
      config,
      // A reader of its own, as a Lambda container serving GET /v1/audit would be.
      audit: new AuditService(new DynamoDbAuditLog({ client: env.documentClient, tableName: auditTable })),
      authenticate: async (event: { headers?: Record<string, string | undefined> }) => {
        const token = event.headers?.authorization?.replace(/^Bearer /, '') ?? '';
        const caller = CALLERS[token];
        if (!caller) throw new UnauthenticatedError('unknown test token');
        return caller;
      },
    } as unknown as ApiDependencies;
    // 24 entries; one process writes them all to its shard.
    const jobs = [];
    for (let i = 0; i < 16; i++) jobs.push((await parts.service.submit({ command: ['true'] }, LOCAL_CALLER)).job);
    for (const job of jobs.slice(0, 8)) await parts.service.cancel(job.id, LOCAL_CALLER);
  });
  afterEach(async () => env.cleanup());

  /** The shard with the most entries, and its entries in order. */
  async function fullestShard(): Promise<{ shard: number; entries: AuditEntry[] }> {
    const { shards } = await audit.readAllChains();
    const best = shards.reduce((a, b) => (b.items.length > a.items.length ? b : a));
    return { shard: best.chain as number, entries: best.items.filter((i) => (i.seq as number) > 0) as unknown as AuditEntry[] };
  }

  const key = (shard: number, seq: number) => ({ pk: chainKey(shard), seq });
  const put = (item: Item) => env.documentClient.send(new PutCommand({ TableName: auditTable, Item: item }));
  const remove = (shard: number, seq: number) => env.documentClient.send(new DeleteCommand({ TableName: auditTable, Key: key(shard, seq) }));
  const setHead = (shard: number, seq: number, hash: string) => put({ ...key(shard, 0), headSeq: seq, headHash: hash });

  async function cli(args: string[]) {
    const stdout = capture();
    const stderr = capture();
    const code = await runCli(['--url', server.url, '--token', 'admin-token', 'audit', ...args], {
      stdout: stdout.stream,
      stderr: stderr.stream,
      env: {},
      retry: { attempts: 1 },
    });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  }

  /** Every verifier agrees on the first broken entry. */
  async function expectBroken(shard: number | 'root', seq: number, kind: string, options: { local?: boolean } = { local: true }) {
    const core = await audit.verify();
    expect(core.ok).toBe(false);
    expect(core.firstBroken).toMatchObject({ shard, seq, kind });

    const response = await fetch(`${server.url}/v1/audit/verify`, { headers: { authorization: 'Bearer admin-token' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: false, firstBroken: { shard, seq, kind } });

    const run = await cli(['verify']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`first broken entry is shard ${shard} seq ${seq} (${kind})`);
    if (options.local) {
      const local = await cli(['verify', '--local']);
      expect(local.code).toBe(1);
      expect(local.stdout).toContain(`first broken entry is shard ${shard} seq ${seq} (${kind})`);
    }
  }

  it('passes an untouched chain (exit 0) and lists it', async () => {
    const run = await cli(['verify']);
    expect(run).toMatchObject({ code: 0, stdout: 'audit chain intact: 24 entries in 64 shards, 0 checkpoints\n' });
    expect((await cli(['verify', '--local'])).code).toBe(0);
    const listed = await cli(['list', '--all', '--limit', '5']);
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split('\n')).toHaveLength(25);
    expect(listed.stdout).toMatch(/^TIME\s+SHARD\s+SEQ\s+ACTOR\s+ACTION\s+TARGET/);
    const page = await cli(['--json', 'list', '--limit', '3']);
    expect(JSON.parse(page.stdout)).toMatchObject({ hasMore: true, entries: [{}, {}, {}] });
  });

  it('names an edited entry', async () => {
    const { shard } = await fullestShard();
    await env.documentClient.send(
      new UpdateCommand({ TableName: auditTable, Key: key(shard, 2), UpdateExpression: 'SET actor = :m', ExpressionAttributeValues: { ':m': 'mallory' } }),
    );
    await expectBroken(shard, 2, 'edited');
  });

  it('names a deleted entry', async () => {
    const { shard } = await fullestShard();
    await remove(shard, 2);
    await expectBroken(shard, 2, 'deleted');
  });

  it('names the entry after one inserted with the rest shifted down (head moved too)', async () => {
    const { shard, entries } = await fullestShard();
    const [first, ...rest] = entries;
    const forged = nextEntry({ chain: shard, seq: 1, hash: first!.hash }, { actor: 'mallory', action: 'job.cancel', target: 'job:forged', details: {} }, new Date());
    for (const entry of [...rest].reverse()) await put({ pk: chainKey(shard), ...entry, seq: entry.seq + 1 });
    await put({ pk: chainKey(shard), ...forged });
    await setHead(shard, entries.length + 1, entries.at(-1)!.hash);
    await expectBroken(shard, 3, 'reordered');
  });

  it('names swapped entries', async () => {
    const { shard, entries } = await fullestShard();
    const [a, b] = entries;
    await put({ pk: chainKey(shard), ...b!, seq: 1 });
    await put({ pk: chainKey(shard), ...a!, seq: 2 });
    await expectBroken(shard, 1, 'reordered');
  });

  it('names the newest entries of a shard deleted after a checkpoint, head rewound', async () => {
    expect(await audit.checkpoint()).not.toBeNull();
    const { shard, entries } = await fullestShard();
    const last = entries.at(-1)!;
    const previous = entries.at(-2)!;
    await remove(shard, last.seq);
    await setHead(shard, previous.seq, previous.hash);
    await expectBroken(shard, last.seq, 'deleted');
    // Without the checkpoint it would pass: the chain itself is consistent.
    expect((await audit.verify()).problems).toEqual([
      expect.objectContaining({ shard, seq: last.seq, problem: `entry ${last.seq}, recorded by checkpoint 1, is missing` }),
    ]);
  });

  it('names a deleted newest entry from the head even before any checkpoint (server-side only)', async () => {
    const { shard, entries } = await fullestShard();
    await remove(shard, entries.at(-1)!.seq);
    await expectBroken(shard, entries.at(-1)!.seq, 'deleted', { local: false });
  });

  it('answers 403 to callers who are not admins, 401 to strangers', async () => {
    for (const path of ['/v1/audit', '/v1/audit/verify']) {
      for (const token of ['viewer-token', 'member-token']) {
        const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
        expect(response.status).toBe(403);
        expect(await response.json()).toMatchObject({ error: { code: 'PERMISSION_DENIED' } });
      }
      expect((await fetch(`${server.url}${path}`)).status).toBe(401);
    }
    const bad = await fetch(`${server.url}/v1/audit?limit=0`, { headers: { authorization: 'Bearer admin-token' } });
    expect(bad.status).toBe(400);
  });
});
