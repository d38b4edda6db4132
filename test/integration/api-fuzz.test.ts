import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApiDependencies } from '../../core/app/api-dependencies.ts';
import { createJobQueue } from '../../core/app/dispatch-dependencies.ts';
import { generateApiKey } from '../../core/auth/api-key.ts';
import { bootstrapAdminKey } from '../../core/auth/bootstrap-admin-key.ts';
import { DynamoDbApiKeyStore } from '../../core/auth/dynamodb-api-key-store.ts';
import type { RuntimeConfig } from '../../core/config.ts';
import { createHandlers } from '../../lambdas/handlers.ts';
import { ROUTES } from '../../lambdas/routes.ts';
import { startLocalApiServer, type LocalApiServer } from '../../local/http-server.ts';
import { checkResponsesAgainstContract, type ContractCheck } from '../support/response-contract.ts';
import { createTestEnvironment, runtimeConfigFor, type TestEnvironment } from '../support/emulators.ts';

/**
 * Property: whatever arrives over HTTP (method, raw path, query, headers, credentials, body), the
 * API never answers 5xx, every 4xx carries the error shape, and a rejected request leaves every
 * table byte-for-byte as it was. The real handlers, served by the local API server, over
 * DynamoDB Local and fauxqs.
 */

const RUNS = 300;

interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer | undefined;
}

interface FuzzResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

function send(baseUrl: string, req: FuzzRequest): Promise<FuzzResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    // node:http, not fetch: the path goes out raw (fetch would resolve `..` and re-encode it).
    const r = request(
      { host: url.hostname, port: url.port, method: req.method, path: req.path, headers: req.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const PRINTABLE = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const anyText = fc.string({ unit: 'binary', maxLength: 60 });
const encode = (s: string) => encodeURIComponent(s);

const deepJson = fc.integer({ min: 17, max: 200 }).map((n) => '['.repeat(n) + ']'.repeat(n));
const controlChar = fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c));

function arbitraries(ids: { jobs: string[] }) {
  const id = fc.oneof(
    { arbitrary: fc.constantFrom(...ids.jobs), weight: 4 },
    { arbitrary: fc.constant(generateApiKey().id), weight: 1 },
    {
      arbitrary: fc.constantFrom('..', '.', '%2e%2e', '..%2F..%2Fetc', '%2F', 'a%00b', '%FF%FE', '%C0%AF', 'x'.repeat(300), '%20', '01J%0A'),
      weight: 3,
    },
    { arbitrary: PRINTABLE.map(encode), weight: 1 },
  );
  // Mostly the API's own routes with their own methods, so requests get past routing and
  // authentication into validation and the services; the rest anything at all.
  const routed = fc.oneof(
    fc.constantFrom(['POST', '/v1/jobs']),
    fc.constantFrom(['GET', '/v1/jobs'], ['GET', '/v1/api-keys'], ['POST', '/v1/api-keys'], ['GET', '/v1/workers']),
    fc.tuple(fc.constantFrom('GET', 'POST'), id).map(([m, i]) => [m, `/v1/jobs/${i}`]),
    fc.tuple(id, fc.constantFrom(['POST', 'cancel'], ['POST', 'retry'], ['GET', 'events'], ['GET', 'logs'])).map(([i, [m, s]]) => [m, `/v1/jobs/${i}/${s}`]),
    id.map((i) => ['POST', `/v1/api-keys/${i}/revoke`]),
  );
  const anywhere = fc.tuple(
    fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
    fc.oneof(
      fc.constantFrom('/v1/jobs', '/v1/api-keys', '/healthz', '/', '/v1', '/v1/jobs/', '//v1//jobs'),
      fc.array(PRINTABLE.map(encode), { maxLength: 6 }).map((segments) => `/${segments.join('/')}`),
    ),
  );
  const target = fc.oneof({ arbitrary: routed, weight: 4 }, { arbitrary: anywhere, weight: 1 });
  const queryValue = fc.oneof(
    { arbitrary: fc.constantFrom('QUEUED', 'default', 'ml', 'vision', '10', '0', '-1', '1e9', '%FF', '%00', 'a%0Ab', 'a%23b', '..%2F'), weight: 6 },
    { arbitrary: PRINTABLE.map(encode), weight: 3 },
    { arbitrary: anyText.map(encode), weight: 2 },
    { arbitrary: fc.constant('x'.repeat(5000)), weight: 1 },
  );
  const queryName = fc.oneof(
    { arbitrary: fc.constantFrom('state', 'queue', 'limit', 'cursor', 'group', 'attempt', 'after', 'x'), weight: 4 },
    { arbitrary: PRINTABLE.map(encode), weight: 1 },
  );
  const query = fc.oneof(
    { arbitrary: fc.constant(''), weight: 2 },
    { arbitrary: fc.array(fc.tuple(queryName, queryValue), { minLength: 1, maxLength: 4 }).map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`), weight: 3 },
  );

  const spec = fc.record(
    {
      command: fc.array(PRINTABLE, { minLength: 1, maxLength: 3 }),
      queue: fc.constantFrom('default', 'nope', 'Bad Queue'),
      name: fc.oneof(PRINTABLE, controlChar.map((c) => `job${c}name`)),
      labels: fc.dictionary(fc.constantFrom('team', 'bad key', 'run'), fc.oneof(PRINTABLE, controlChar.map((c) => `v${c}`))),
      group: fc.constantFrom('ml', 'vision', 'a#b', ''),
      timeoutSeconds: fc.oneof(fc.integer({ min: -5, max: 20 }), fc.constant(10 ** 12)),
      extra: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: ['command'] },
  );
  const keyBody = fc.record(
    {
      name: fc.oneof(PRINTABLE, controlChar),
      role: fc.constantFrom('admin', 'member', 'viewer', 'root'),
      groups: fc.array(fc.constantFrom('ml', 'a#b', ''), { maxLength: 3 }),
      ttlSeconds: fc.integer({ min: -10, max: 100 }),
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 2 },
    { arbitrary: spec.map((v) => Buffer.from(JSON.stringify(v))), weight: 3 },
    { arbitrary: fc.constantFrom('ml', 'vision', undefined).map((group) => Buffer.from(JSON.stringify({ command: ['true'], group }))), weight: 2 },
    { arbitrary: keyBody.map((v) => Buffer.from(JSON.stringify(v))), weight: 2 },
    { arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v))), weight: 1 },
    { arbitrary: deepJson.map((v) => Buffer.from(v)), weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from([0x7b, 0x22, 0xff, ...b])), weight: 1 },
    { arbitrary: anyText.map((v) => Buffer.from(v)), weight: 1 },
    { arbitrary: fc.constant(Buffer.from(JSON.stringify({ command: ['x'], name: 'y'.repeat(300 * 1024) }))), weight: 1 },
  );
  return { target, query, body };
}

// ---------------------------------------------------------------------------------------------

describe('HTTP surface fuzz', () => {
  let env: TestEnvironment;
  let server: LocalApiServer;
  let contract: ContractCheck<string>;
  let config: RuntimeConfig;
  const tokens: string[] = [];
  const jobIds: string[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment();
    config = runtimeConfigFor(env);
    const deps = createApiDependencies(config, { queue: createJobQueue(config), log: () => undefined });
    contract = checkResponsesAgainstContract(createHandlers(async () => deps));
    server = await startLocalApiServer({ routes: ROUTES, handlers: contract.handlers, log: () => undefined });
    let admin: string | undefined;
    await bootstrapAdminKey({
      store: new DynamoDbApiKeyStore({ client: env.documentClient, tableName: config.tables.jobs }),
      secret: { read: async () => admin, write: async (v) => void (admin = v) },
    });
    tokens.push(admin!);
    for (const role of ['member', 'viewer']) {
      const res = await send(server.url, {
        method: 'POST',
        path: '/v1/api-keys',
        headers: { authorization: `Bearer ${admin!}`, 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify({ name: role, role, groups: ['ml'] })),
      });
      tokens.push((JSON.parse(res.body) as { key: string }).key);
    }
    for (const group of ['ml', 'vision']) {
      const res = await send(server.url, {
        method: 'POST',
        path: '/v1/jobs',
        headers: { authorization: `Bearer ${admin!}`, 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify({ command: ['true'], group })),
      });
      jobIds.push((JSON.parse(res.body) as { id: string }).id);
    }
  });

  // Every response any test here saw matches the API contract (specs/openapi.json).
  afterEach(() => {
    expect(contract.violations).toEqual([]);
  });

  afterAll(async () => {
    await server?.close();
    await env?.cleanup();
  });

  /** Every item of every table, hashed: any write at all changes it. */
  async function fingerprint(): Promise<string> {
    const hash = createHash('sha256');
    for (const table of [config.tables.jobs, config.tables.events, config.tables.audit]) {
      const items: string[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await env.documentClient.send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }));
        for (const item of page.Items ?? []) items.push(JSON.stringify(item, (_k, v: unknown) => (v instanceof Set ? [...(v as Set<unknown>)].sort() : v)));
        start = page.LastEvaluatedKey;
      } while (start);
      hash.update(`${table}\n${items.sort().join('\n')}\n`);
    }
    return hash.digest('hex');
  }

  // Client mistakes that once reached the SDK and came back as 5xx: each must be a 400 naming its
  // field, and store nothing.
  const cursorOf = (json: string) => Buffer.from(json, 'utf8').toString('base64url');
  const jsonBody = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8');
  const withRawBytes = (before: string, bytes: number[], after: string) =>
    Buffer.concat([Buffer.from(before, 'utf8'), Buffer.from(bytes), Buffer.from(after, 'utf8')]);
  const KNOWN_5XX_CASES: readonly { name: string; method: string; path: string; body?: Buffer; field: string }[] = [
    { name: 'lone surrogate in command', method: 'POST', path: '/v1/jobs', body: jsonBody({ command: ['echo', '\ud800'] }), field: 'command.1' },
    { name: 'lone surrogate in name', method: 'POST', path: '/v1/jobs', body: jsonBody({ command: ['true'], name: 'x\udfff' }), field: 'name' },
    { name: 'lone surrogate in a label', method: 'POST', path: '/v1/jobs', body: jsonBody({ command: ['true'], labels: { team: '\ud800' } }), field: 'labels.team' },
    { name: 'lone surrogate in an env value', method: 'POST', path: '/v1/jobs', body: jsonBody({ command: ['true'], env: { A: '\udc00' } }), field: 'env.A' },
    {
      name: 'lone surrogate in an API key name',
      method: 'POST',
      path: '/v1/api-keys',
      body: jsonBody({ name: '\ud800', role: 'viewer', groups: ['ml'] }),
      field: 'name',
    },
    { name: 'raw invalid UTF-8 in command', method: 'POST', path: '/v1/jobs', body: withRawBytes('{"command":["echo","a', [0xff, 0xfe], '"]}'), field: 'command.1' },
    { name: 'overlong UTF-8 in a label', method: 'POST', path: '/v1/jobs', body: withRawBytes('{"command":["true"],"labels":{"t":"', [0xc0, 0xaf], '"}}'), field: 'labels.t' },
    { name: 'raw invalid UTF-8 in an API key name', method: 'POST', path: '/v1/api-keys', body: withRawBytes('{"role":"viewer","groups":["ml"],"name":"', [0xed, 0xa0, 0x80], '"}'), field: 'name' },
    { name: 'cursor with numeric keys', method: 'GET', path: `/v1/jobs?cursor=${cursorOf('{"pk":1,"id":2}')}`, field: 'cursor' },
    { name: 'cursor with numeric keys in the right partition', method: 'GET', path: `/v1/jobs?group=ml&cursor=${cursorOf('{"pk":1,"id":2,"groupKey":"ml"}')}`, field: 'cursor' },
    { name: 'cursor with 1e400', method: 'GET', path: `/v1/jobs?group=ml&cursor=${cursorOf('{"pk":"JOB#x","id":1e400,"groupKey":"ml"}')}`, field: 'cursor' },
    { name: 'cursor with empty keys', method: 'GET', path: `/v1/jobs?group=ml&cursor=${cursorOf('{"pk":"","id":"","groupKey":"ml"}')}`, field: 'cursor' },
    { name: 'cursor with a lone surrogate', method: 'GET', path: `/v1/jobs?group=ml&cursor=${cursorOf('{"pk":"JOB#\\ud800","id":"x","groupKey":"ml"}')}`, field: 'cursor' },
    { name: 'cursor past the key size', method: 'GET', path: `/v1/jobs?group=ml&cursor=${cursorOf(`{"pk":"JOB#x","id":"${'i'.repeat(1100)}","groupKey":"ml"}`)}`, field: 'cursor' },
    {
      name: 'state-filtered cursor with numeric keys',
      method: 'GET',
      path: `/v1/jobs?group=ml&state=QUEUED&cursor=${cursorOf('{"pk":1,"id":2,"groupStateKey":"ml#QUEUED"}')}`,
      field: 'cursor',
    },
    { name: 'audit cursor with 1e400', method: 'GET', path: `/v1/audit?after=${cursorOf('{"v":1,"p":{"root":1e400}}')}`, field: 'after' },
  ];

  it.each(KNOWN_5XX_CASES)('$name: 400 INVALID_ARGUMENT on $field, nothing stored', async (c) => {
    const before = await fingerprint();
    const headers: Record<string, string> = { authorization: `Bearer ${tokens[0]!}` };
    if (c.body) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(c.body.length);
    }
    const res = await send(server.url, { method: c.method, path: c.path, headers, body: c.body });
    expect(res.status, res.body).toBe(400);
    const parsed = JSON.parse(res.body) as { error: { code: string; details: { fields?: { path: string }[] } } };
    expect(parsed.error.code).toBe('INVALID_ARGUMENT');
    expect(parsed.error.details.fields?.map((f) => f.path)).toContain(c.field);
    expect(await fingerprint()).toBe(before);
  }, 30_000);

  it(`never answers 5xx, always with the error shape, and changes nothing when it refuses (${RUNS} requests)`, async () => {
    const { target, query, body } = arbitraries({ jobs: jobIds });
    const credential = fc.oneof(
      { arbitrary: fc.constantFrom(...tokens).map((t) => `Bearer ${t}`), weight: 6 },
      { arbitrary: fc.constantFrom(...tokens).map((t) => `bearer  ${t}`), weight: 1 },
      { arbitrary: fc.constant(undefined), weight: 1 },
      { arbitrary: fc.constant(`Bearer ${generateApiKey().token}`), weight: 1 },
      { arbitrary: fc.constant('Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJldmUiLCJyb2xlIjoiYWRtaW4ifQ.'), weight: 1 },
      { arbitrary: PRINTABLE.map((v) => `Bearer ${v}`), weight: 1 },
      { arbitrary: PRINTABLE, weight: 1 },
    );
    const contentType = fc.oneof(
      { arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8'), weight: 5 },
      { arbitrary: fc.constant(undefined), weight: 1 },
      {
        arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/vnd.api+json', 'application/json; charset=latin1'),
        weight: 1,
      },
      { arbitrary: PRINTABLE, weight: 1 },
    );
    const extraHeaders = fc.dictionary(
      fc.stringMatching(/^x-[a-z0-9-]{1,20}$/),
      fc.oneof({ arbitrary: PRINTABLE, weight: 8 }, { arbitrary: fc.constant('v'.repeat(4000)), weight: 1 }),
      { maxKeys: 5 },
    );
    const requestArb = fc.record({
      target,
      query,
      credential,
      contentType,
      idempotencyKey: fc.option(fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.:-]{1,20}$/), PRINTABLE), { nil: undefined }),
      extraHeaders,
      body,
    });

    const started = Date.now();
    let rejected = 0;
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        const headers: Record<string, string> = { ...r.extraHeaders };
        if (r.credential !== undefined) headers.authorization = r.credential;
        if (r.contentType !== undefined) headers['content-type'] = r.contentType;
        if (r.idempotencyKey !== undefined) headers['idempotency-key'] = r.idempotencyKey;
        // Framing is the HTTP layer's business, not the API's: every body goes with its length.
        if (r.body !== undefined) headers['content-length'] = String(r.body.length);
        // Past Node's own 16 KiB limit on the request line plus headers, node:http answers a bare 431
        // before any handler runs (API Gateway has such limits too): not the API's surface.
        const [method, path] = r.target as [string, string];
        const headBytes = path.length + r.query.length + Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
        fc.pre(headBytes < 15_000);
        const before = await fingerprint();
        const res = await send(server.url, { method, path: `${path}${r.query}`, headers, body: r.body });
        expect(res.status, res.body).toBeLessThan(500);
        if (res.status < 400) return;
        rejected++;
        expect(res.contentType).toMatch(/^application\/json/);
        const parsed = JSON.parse(res.body) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
        expect(Object.keys(parsed)).toEqual(['error']);
        expect(Object.keys(parsed.error!).sort()).toEqual(['code', 'details', 'message']);
        expect(parsed.error!.code).toMatch(/^[A-Z_]+$/);
        expect(typeof parsed.error!.message).toBe('string');
        expect(parsed.error!.details).toBeTypeOf('object');
        expect(parsed.error!.details).not.toBeNull();
        expect(await fingerprint(), `${method} ${path}${r.query} → ${res.status} changed a table`).toBe(before);
      }),
      { numRuns: RUNS },
    );
    // Most generated requests are refused; the property must have been exercised on them.
    expect(rejected).toBeGreaterThan(RUNS / 2);
    // Responses of most routes went through the contract check (afterEach asserts none broke it).
    expect(contract.checked.size).toBeGreaterThan(8);
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 120_000);
});
