import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApiDependencies, type ApiDependencies } from '../../core/app/api-dependencies.ts';
import { createJobQueue } from '../../core/app/dispatch-dependencies.ts';
import { DynamoDbAuditLog } from '../../core/audit/dynamodb-audit-log.ts';
import { generateApiKey } from '../../core/auth/api-key.ts';
import { bootstrapAdminKey, type SecretSlot } from '../../core/auth/bootstrap-admin-key.ts';
import { DynamoDbApiKeyStore } from '../../core/auth/dynamodb-api-key-store.ts';
import { generateSigningKey, mintToken, publicJwk, type SigningKeyDocument } from '../../core/auth/signing-key.ts';
import type { RuntimeConfig } from '../../core/config.ts';
import { createHandlers } from '../../lambdas/handlers.ts';
import { ROUTES } from '../../lambdas/routes.ts';
import { startLocalApiServer, type LocalApiServer } from '../../local/http-server.ts';
import { checkResponsesAgainstContract, type ContractCheck } from '../support/response-contract.ts';
import { createTestEnvironment, runtimeConfigFor, type TestEnvironment } from '../support/emulators.ts';

/**
 * Authentication through the real handlers, served by the local API server over real emulators:
 * the API key lifecycle, every JWT attack the issue names, and the first admin key's bootstrap.
 */

const UNAUTHENTICATED = { error: { code: 'UNAUTHENTICATED', message: 'authentication required', details: {} } };
const T0 = new Date('2026-03-01T12:00:00Z');

/** A mutable secret slot standing in for a file or Secrets Manager. */
function memorySlot(initial?: string): SecretSlot & { value: string | undefined; writes: number } {
  const slot = {
    value: initial,
    writes: 0,
    read: async () => slot.value,
    write: async (value: string) => {
      slot.value = value;
      slot.writes++;
    },
  };
  return slot;
}

describe('authentication', () => {
  let env: TestEnvironment;
  let server: LocalApiServer;
  let contract: ContractCheck<string>;
  let deps: ApiDependencies;
  let config: RuntimeConfig;
  let signing: SigningKeyDocument;
  let adminKey: string;
  let jwks: Server;
  let jwksUrl: string;
  let jwksUp = true;
  // Identity provider keys: one RSA, one EC, both published.
  let idpRsa: CryptoKey;
  let idpEc: CryptoKey;
  const idpJwks: JWK[] = [];
  let now = T0;

  beforeAll(async () => {
    env = await createTestEnvironment();
    signing = await generateSigningKey();
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const ec = await generateKeyPair('ES256', { extractable: true });
    idpRsa = rsa.privateKey;
    idpEc = ec.privateKey;
    idpJwks.push({ ...(await exportJWK(rsa.publicKey)), kid: 'idp-rsa', alg: 'RS256', use: 'sig' });
    idpJwks.push({ ...(await exportJWK(ec.publicKey)), kid: 'idp-ec', alg: 'ES256', use: 'sig' });
    jwks = createServer((_req, res) => {
      if (!jwksUp) {
        res.statusCode = 503;
        res.end('down');
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: idpJwks }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`;

    config = runtimeConfigFor(env, {
      auth: {
        jwt: { issuer: signing.issuer, audience: signing.audience, publicKeys: [publicJwk(signing)] },
        oidc: { jwksUrl, issuer: 'https://idp.example.com', audience: 'runplane' },
        claims: { groups: 'groups', role: 'realm_access.roles' },
      },
    });
    deps = createApiDependencies(config, { clock: () => now, queue: createJobQueue(config), log: () => undefined });
    contract = checkResponsesAgainstContract(createHandlers(async () => deps));
    server = await startLocalApiServer({ routes: ROUTES, handlers: contract.handlers, log: () => undefined });
    const slot = memorySlot();
    await bootstrapAdminKey({ store: new DynamoDbApiKeyStore({ client: env.documentClient, tableName: config.tables.jobs }), secret: slot });
    adminKey = slot.value!;
  });

  // Every response any test here saw matches the API contract (specs/openapi.json).
  afterEach(() => {
    expect(contract.violations).toEqual([]);
  });

  afterAll(async () => {
    await server?.close();
    await new Promise((r) => jwks?.close(r));
    await env?.cleanup();
  });

  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };

  const expectRefused = async (token: string | undefined, rawHeader?: string) => {
    const res = rawHeader
      ? await fetch(`${server.url}/v1/jobs`, { headers: { authorization: rawHeader } }).then(async (r) => ({
          status: r.status,
          headers: r.headers,
          body: (await r.json()) as Record<string, unknown>,
        }))
      : await call('GET', '/v1/jobs', token);
    expect(res.status).toBe(401);
    expect(res.body).toEqual(UNAUTHENTICATED);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  };

  describe('API keys', () => {
    it('create → use → list without secrets → revoke → 401, and only the hash is stored', async () => {
      const created = await call('POST', '/v1/api-keys', adminKey, { name: 'ci', role: 'member', groups: ['ml'], ttlSeconds: 3600 });
      expect(created.status).toBe(201);
      const key = created.body.key as string;
      expect(key).toMatch(/^rp_[0-9A-Z]{26}_[A-Za-z0-9_-]{43}$/);
      expect(created.body).toMatchObject({ name: 'ci', role: 'member', groups: ['ml'], expiresAt: '2026-03-01T13:00:00.000Z', revokedAt: null });
      expect(created.body).not.toHaveProperty('hash');

      const submitted = await call('POST', '/v1/jobs', key, { command: ['true'] });
      expect(submitted.status).toBe(201);
      expect(submitted.body).toMatchObject({ group: 'ml', owner: `apikey:${created.body.id as string}` });

      const listed = await call('GET', '/v1/api-keys', adminKey);
      expect(listed.status).toBe(200);
      const keys = listed.body.keys as Record<string, unknown>[];
      expect(keys.map((k) => k.id)).toContain(created.body.id);
      expect(JSON.stringify(listed.body)).not.toMatch(/rp_|"hash"/);

      // Scan everything the key could have been written to: the secret appears nowhere, the hash once.
      const secret = key.slice(30);
      for (const table of [config.tables.jobs, config.tables.audit]) {
        const items = (await env.documentClient.send(new ScanCommand({ TableName: table }))).Items ?? [];
        expect(JSON.stringify(items)).not.toContain(secret);
      }
      const keyItem = (await env.documentClient.send(new ScanCommand({ TableName: config.tables.jobs }))).Items!.find(
        (i) => i.pk === `APIKEY#${created.body.id as string}`,
      )!;
      expect(keyItem.hash).toMatch(/^[0-9a-f]{64}$/);

      const revoked = await call('POST', `/v1/api-keys/${created.body.id as string}/revoke`, adminKey);
      expect(revoked.status).toBe(200);
      expect(revoked.body).toMatchObject({ id: created.body.id, revokedAt: now.toISOString(), revokedBy: expect.stringMatching(/^apikey:/) });
      await expectRefused(key);
      // Revoking again is harmless and keeps the first revocation.
      expect((await call('POST', `/v1/api-keys/${created.body.id as string}/revoke`, adminKey)).body).toEqual(revoked.body);
    });

    it('records creation and revocation in the audit chain, in the same transaction', async () => {
      const created = await call('POST', '/v1/api-keys', adminKey, { name: 'audited', role: 'viewer', groups: ['ml'] });
      await call('POST', `/v1/api-keys/${created.body.id as string}/revoke`, adminKey);
      // A revocation that changes nothing records nothing.
      await call('POST', `/v1/api-keys/${created.body.id as string}/revoke`, adminKey);
      const audit = new DynamoDbAuditLog({ client: env.documentClient, tableName: config.tables.audit });
      const entries = (await audit.list({ limit: 1000 })).entries.filter((e) => e.target === `apikey:${created.body.id as string}`);
      expect(entries.map((e) => e.action)).toEqual(['apikey.create', 'apikey.revoke']);
      expect(entries[0]!.details).toMatchObject({ name: 'audited', role: 'viewer', groups: ['ml'] });
      expect(JSON.stringify(entries)).not.toContain(created.body.key as string);
    });

    it('refuses an expired key, and keys that are malformed, unknown or carry the wrong secret', async () => {
      const created = await call('POST', '/v1/api-keys', adminKey, { name: 'short', role: 'viewer', groups: ['ml'], ttlSeconds: 60 });
      const key = created.body.key as string;
      expect((await call('GET', '/v1/jobs', key)).status).toBe(200);
      now = new Date(T0.getTime() + 61_000);
      try {
        await expectRefused(key);
      } finally {
        now = T0;
      }
      await expectRefused(`rp_${created.body.id as string}_${'A'.repeat(43)}`);
      await expectRefused(generateApiKey().token);
      await expectRefused('rp_not-a-key');
      await expectRefused(undefined);
      await expectRefused(undefined, `Basic ${Buffer.from('admin:admin').toString('base64')}`);
      await expectRefused(undefined, `Bearer ${adminKey} extra`);
      await expectRefused(undefined, `Bearer ${'x'.repeat(9000)}`);
    });

    it('lets only admins manage keys, and validates what they send', async () => {
      const member = (await call('POST', '/v1/api-keys', adminKey, { name: 'm', role: 'member', groups: ['ml'] })).body.key as string;
      for (const [method, path, body] of [
        ['POST', '/v1/api-keys', { name: 'x', role: 'admin', groups: ['ml'] }],
        ['GET', '/v1/api-keys', undefined],
        ['POST', `/v1/api-keys/${generateApiKey().id}/revoke`, undefined],
      ] as const) {
        const res = await call(method, path, member, body);
        expect(res.status, `${method} ${path}`).toBe(403);
        expect((res.body.error as { code: string }).code).toBe('PERMISSION_DENIED');
      }
      for (const body of [
        { name: 'x', role: 'root', groups: ['ml'] },
        { name: 'x', role: 'member', groups: [] },
        { name: 'x\u0007', role: 'member', groups: ['ml'] },
        { name: 'x', role: 'member', groups: ['a#b'] },
        { name: 'x', role: 'member', groups: ['ml'], ttlSeconds: 10 },
        { name: 'x', role: 'member', groups: ['ml'], extra: true },
      ]) {
        expect((await call('POST', '/v1/api-keys', adminKey, body)).status, JSON.stringify(body)).toBe(400);
      }
      expect((await call('POST', `/v1/api-keys/${generateApiKey().id}/revoke`, adminKey)).status).toBe(404);
      expect((await call('POST', '/v1/api-keys/..%2F..%2Fjobs/revoke', adminKey)).status).toBe(400);
    });

    it('pages through keys newest first', async () => {
      for (let i = 0; i < 3; i++) await call('POST', '/v1/api-keys', adminKey, { name: `page-${i}`, role: 'viewer', groups: ['ml'] });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await call('GET', `/v1/api-keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`, adminKey);
        expect(page.status).toBe(200);
        seen.push(...(page.body.keys as { id: string }[]).map((k) => k.id));
        cursor = page.body.nextCursor as string | null;
      } while (cursor);
      expect(seen).toEqual([...seen].sort().reverse());
      expect(new Set(seen).size).toBe(seen.length);
      expect((await call('GET', '/v1/api-keys?cursor=nope', adminKey)).status).toBe(400);
    });
  });

  describe('JWTs', () => {
    const claims = { subject: 'alice', role: 'member' as const, groups: ['ml'], ttlSeconds: 600 };
    const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

    /** A token of the identity provider, with overridable claims and header. */
    const idpToken = (payload: Record<string, unknown> = {}, options: { key?: 'rsa' | 'ec'; kid?: string } = {}) =>
      new SignJWT({
        iss: 'https://idp.example.com',
        aud: 'runplane',
        sub: 'bob@example.com',
        iat: seconds(now),
        exp: seconds(now) + 600,
        groups: ['ml', 'bad#group'],
        realm_access: { roles: ['offline', 'member'] },
        ...payload,
      })
        .setProtectedHeader({ alg: options.key === 'ec' ? 'ES256' : 'RS256', kid: options.kid ?? (options.key === 'ec' ? 'idp-ec' : 'idp-rsa') })
        .sign(options.key === 'ec' ? idpEc : idpRsa);

    it("accepts the deployment's own token and one of the OIDC issuer, with their claims", async () => {
      const own = await mintToken(signing, claims, now);
      const submitted = await call('POST', '/v1/jobs', own, { command: ['true'] });
      expect(submitted.status).toBe(201);
      expect(submitted.body).toMatchObject({ owner: 'alice', group: 'ml' });

      for (const key of ['rsa', 'ec'] as const) {
        const res = await call('POST', '/v1/jobs', await idpToken({}, { key }), { command: ['true'] });
        expect(res.status, key).toBe(201);
        // Role from the nested claim, the invalid group dropped.
        expect(res.body).toMatchObject({ owner: 'bob@example.com', group: 'ml' });
      }
      // No recognised role: a viewer, who may read but not submit.
      const viewer = await idpToken({ realm_access: { roles: ['offline'] } });
      expect((await call('GET', '/v1/jobs', viewer)).status).toBe(200);
      expect((await call('POST', '/v1/jobs', viewer, { command: ['true'] })).status).toBe(403);
    });

    it('tolerates 30 s of clock skew, no more', async () => {
      const token = await mintToken(signing, { ...claims, ttlSeconds: 60 }, new Date(now.getTime() - 80_000));
      expect((await call('GET', '/v1/jobs', token)).status).toBe(200);
      await expectRefused(await mintToken(signing, { ...claims, ttlSeconds: 60 }, new Date(now.getTime() - 95_000)));
    });

    const attacks: [string, () => Promise<string>][] = [
      ['alg none', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: signing.issuer, aud: signing.audience, sub: 'eve', role: 'admin', groups: ['ml'], exp: seconds(now) + 600 })}.`],
      [
        'HS256 signed with the public JWK as the secret',
        () =>
          new SignJWT({ role: 'admin', groups: ['ml'] })
            .setProtectedHeader({ alg: 'HS256', kid: signing.kid })
            .setIssuer(signing.issuer)
            .setAudience(signing.audience)
            .setSubject('eve')
            .setExpirationTime(seconds(now) + 600)
            .sign(new TextEncoder().encode(JSON.stringify(publicJwk(signing)))),
      ],
      [
        "HS256 signed with the identity provider's public key as the secret",
        async () =>
          new SignJWT({ realm_access: { roles: ['admin'] } })
            .setProtectedHeader({ alg: 'HS256', kid: 'idp-rsa' })
            .setIssuer('https://idp.example.com')
            .setAudience('runplane')
            .setSubject('eve')
            .setExpirationTime(seconds(now) + 600)
            .sign(new TextEncoder().encode(JSON.stringify(idpJwks[0]))),
      ],
      ['expired', () => mintToken(signing, { ...claims, ttlSeconds: 60 }, new Date(now.getTime() - 3_600_000))],
      [
        'not yet valid (nbf)',
        () =>
          new SignJWT({ role: 'member', groups: ['ml'] })
            .setProtectedHeader({ alg: 'ES256', kid: signing.kid })
            .setIssuer(signing.issuer)
            .setAudience(signing.audience)
            .setSubject('eve')
            .setNotBefore(seconds(now) + 300)
            .setExpirationTime(seconds(now) + 600)
            .sign(signing.privateKey),
      ],
      ['wrong issuer', async () => (await mintToken({ ...signing, issuer: 'https://evil.example.com' }, claims, now))],
      ['wrong audience', () => mintToken({ ...signing, audience: 'another-api' }, claims, now)],
      ['OIDC wrong audience', () => idpToken({ aud: 'someone-else' })],
      ['OIDC expired', () => idpToken({ exp: seconds(now) - 3600 })],
      [
        'tampered payload',
        async () => {
          const [h, , s] = (await mintToken(signing, { ...claims, role: 'viewer' }, now)).split('.');
          return `${h}.${b64({ iss: signing.issuer, aud: signing.audience, sub: 'alice', role: 'admin', groups: ['ml', 'vision'], exp: seconds(now) + 600 })}.${s}`;
        },
      ],
      ['unknown kid', async () => mintToken({ ...(await generateSigningKey()), kid: 'unknown-kid' }, claims, now)],
      ['own kid, another key', async () => mintToken({ ...(await generateSigningKey()), kid: signing.kid }, claims, now)],
      ['OIDC unknown kid', () => idpToken({}, { kid: 'rotated-away' })],
      [
        'no exp',
        () =>
          new SignJWT({ role: 'member', groups: ['ml'] })
            .setProtectedHeader({ alg: 'ES256', kid: signing.kid })
            .setIssuer(signing.issuer)
            .setAudience(signing.audience)
            .setSubject('eve')
            .sign(signing.privateKey),
      ],
      [
        'no subject',
        () =>
          new SignJWT({ role: 'member', groups: ['ml'] })
            .setProtectedHeader({ alg: 'ES256', kid: signing.kid })
            .setIssuer(signing.issuer)
            .setAudience(signing.audience)
            .setExpirationTime(seconds(now) + 600)
            .sign(signing.privateKey),
      ],
      ['garbage', async () => 'a.b.c'],
      ['a JWS with a JSON header only', async () => `${b64({ alg: 'ES256' })}..`],
    ];

    it.each(attacks)('%s → 401 with the generic body', async (_name, make) => {
      await expectRefused(await make());
    });

    it('answers 503, not 401, while the identity provider cannot be reached', async () => {
      // A fresh container: its JWKS cache is empty, so the first OIDC token needs a fetch, which fails.
      const cold = createApiDependencies(config, { clock: () => now, log: () => undefined });
      const coldServer = await startLocalApiServer({ routes: ROUTES, handlers: createHandlers(async () => cold), log: () => undefined });
      jwksUp = false;
      try {
        const res = await fetch(`${coldServer.url}/v1/jobs`, { headers: { authorization: `Bearer ${await idpToken()}` } });
        expect(res.status).toBe(503);
        expect(await res.json()).toMatchObject({ error: { code: 'DEPENDENCY_UNAVAILABLE' } });
      } finally {
        jwksUp = true;
        await coldServer.close();
      }
    });
  });

  describe('bootstrap admin key', () => {
    const store = () => new DynamoDbApiKeyStore({ client: env.documentClient, tableName: config.tables.jobs });

    it('generates once, stores the item once, and works on every later run', async () => {
      const slot = memorySlot();
      const first = await bootstrapAdminKey({ store: store(), secret: slot, groups: ['ops'] });
      expect(first).toMatchObject({ generated: true, stored: true });
      expect(JSON.stringify(first)).not.toContain(slot.value!);
      const again = await bootstrapAdminKey({ store: store(), secret: slot });
      expect(again).toEqual({ keyId: first.keyId, generated: false, stored: false });
      expect(slot.writes).toBe(1);
      const listed = await call('GET', '/v1/api-keys?limit=100', slot.value);
      expect(listed.status).toBe(200);
      expect((listed.body.keys as { id: string; expiresAt: unknown }[]).find((k) => k.id === first.keyId)).toMatchObject({ expiresAt: null });
    });

    it('stores the item for a key the secret already holds (a crash after the secret write, a wiped table)', async () => {
      const slot = memorySlot(generateApiKey().token);
      await expectRefused(slot.value);
      expect(await bootstrapAdminKey({ store: store(), secret: slot })).toMatchObject({ generated: false, stored: true });
      // The refusal above was remembered ("no such key" is cached for at most 5 s, so invented key
      // ids cost no read each): refused still within that window, the restored key works after it.
      expect((await call('GET', '/v1/jobs', slot.value)).status).toBe(401);
      now = new Date(now.getTime() + 5_001);
      expect((await call('GET', '/v1/jobs', slot.value)).status).toBe(200);
    });

    it('never resurrects a revoked admin key, and refuses a secret that is not a key', async () => {
      const slot = memorySlot();
      const { keyId } = await bootstrapAdminKey({ store: store(), secret: slot });
      await call('POST', `/v1/api-keys/${keyId}/revoke`, adminKey);
      expect(await bootstrapAdminKey({ store: store(), secret: slot })).toMatchObject({ stored: false });
      await expectRefused(slot.value);
      await expect(bootstrapAdminKey({ store: store(), secret: memorySlot('hunter2') })).rejects.toThrow(/not a Runplane API key/);
    });
  });
});
