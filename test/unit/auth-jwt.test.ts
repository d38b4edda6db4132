import { describe, expect, it } from 'vitest';
import { UnauthenticatedError } from '../../core/auth/errors.ts';
import { createJwtVerifier, groupsFromClaim, readClaim, roleFromClaim } from '../../core/auth/jwt-verifier.ts';
import { generateSigningKey, MAX_TOKEN_TTL_SECONDS, mintToken, parseSigningKey, publicJwk } from '../../core/auth/signing-key.ts';
import { ConfigError, loadRuntimeConfig, runtimeConfigToEnv } from '../../core/config.ts';

const BASE_ENV = {
  RUNPLANE_JOBS_TABLE: 'p-jobs',
  RUNPLANE_EVENTS_TABLE: 'p-events',
  RUNPLANE_AUDIT_TABLE: 'p-audit',
  RUNPLANE_QUEUES: JSON.stringify([{ pool: 'default', url: 'http://q/default', deadLetterUrl: 'http://q/default-dlq' }]),
};

describe('claims', () => {
  it('reads a claim by exact name first, then by dotted path', () => {
    const payload = { 'https://example.com/groups': ['a'], realm_access: { roles: ['admin'] }, flat: 'x' };
    expect(readClaim(payload, 'https://example.com/groups')).toEqual(['a']);
    expect(readClaim(payload, 'realm_access.roles')).toEqual(['admin']);
    expect(readClaim(payload, 'realm_access.missing')).toBeUndefined();
    expect(readClaim(payload, 'flat.deeper')).toBeUndefined();
    expect(readClaim(payload, '__proto__.polluted')).toBeUndefined();
  });

  it.each([
    ['admin', 'admin'],
    [['viewer', 'member'], 'member'],
    [['offline_access', 'admin', 'viewer'], 'admin'],
    ['superuser', 'viewer'],
    [undefined, 'viewer'],
    [42, 'viewer'],
    [[{ role: 'admin' }], 'viewer'],
  ])('role claim %j → %s', (value, role) => {
    expect(roleFromClaim(value)).toBe(role);
  });

  it('keeps only valid group names, once each', () => {
    expect(groupsFromClaim(['ml', '/org/vision', 'ml', 'bad#group', '', 7, 'a b'])).toEqual(['ml', '/org/vision']);
    expect(groupsFromClaim('solo')).toEqual(['solo']);
    expect(groupsFromClaim(undefined)).toEqual([]);
    expect(groupsFromClaim(Array.from({ length: 500 }, (_, i) => `g${i}`))).toHaveLength(100);
  });
});

describe('own tokens', () => {
  it('round-trips through mint and verify, at the clock the verifier is given', async () => {
    const doc = await generateSigningKey({ issuer: 'iss-a', audience: 'aud-a' });
    const at = new Date('2026-05-01T00:00:00Z');
    const verify = createJwtVerifier({ own: { issuer: 'iss-a', audience: 'aud-a', publicKeys: [publicJwk(doc)] }, clock: () => at });
    const token = await mintToken(doc, { subject: 'carol', role: 'viewer', groups: ['ml'], ttlSeconds: 60 }, at);
    expect(await verify(token)).toEqual({ subject: 'carol', role: 'viewer', groups: ['ml'] });
    const later = createJwtVerifier({
      own: { issuer: 'iss-a', audience: 'aud-a', publicKeys: [publicJwk(doc)] },
      clock: () => new Date(at.getTime() + 91_000),
    });
    await expect(later(token)).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it('keeps the private key out of the public JWK and refuses malformed key documents', async () => {
    const doc = await generateSigningKey();
    expect(publicJwk(doc)).not.toHaveProperty('d');
    expect(publicJwk(doc)).toMatchObject({ kid: doc.kid, alg: 'ES256', use: 'sig', kty: 'EC', crv: 'P-256' });
    expect(parseSigningKey(JSON.stringify(doc))).toEqual(doc);
    expect(() => parseSigningKey('nope')).toThrow(/not JSON/);
    expect(() => parseSigningKey(JSON.stringify({ ...doc, alg: 'HS256' }))).toThrow(/not a Runplane signing key/);
    expect(() => parseSigningKey(JSON.stringify({ ...doc, privateKey: publicJwk(doc) }))).toThrow(/privateKey.d/);
  });

  it('mints only bounded lifetimes', async () => {
    const doc = await generateSigningKey();
    const claims = { subject: 's', role: 'member' as const, groups: ['g'] };
    await expect(mintToken(doc, { ...claims, ttlSeconds: 0 })).rejects.toThrow(/ttl/);
    await expect(mintToken(doc, { ...claims, ttlSeconds: MAX_TOKEN_TTL_SECONDS + 1 })).rejects.toThrow(/ttl/);
  });

  it('refuses an OIDC issuer equal to its own', async () => {
    const doc = await generateSigningKey();
    expect(() =>
      createJwtVerifier({
        own: { issuer: 'same', audience: 'a', publicKeys: [publicJwk(doc)] },
        oidc: { jwksUrl: 'https://idp.example.com/jwks', issuer: 'same', audience: 'a', groupsClaim: 'groups', roleClaim: 'role' },
      }),
    ).toThrow(/must differ/);
  });
});

describe('auth configuration', () => {
  it('has defaults that accept API keys only', () => {
    expect(loadRuntimeConfig(BASE_ENV).auth).toEqual({
      jwt: { issuer: 'runplane', audience: 'runplane-api', publicKeys: [] },
      claims: { groups: 'groups', role: 'role' },
      maxTokenLifetimeSeconds: 86_400,
    });
  });

  it('reads public keys, an OIDC issuer and claim names, and writes them back', async () => {
    const doc = await generateSigningKey();
    const env = {
      ...BASE_ENV,
      RUNPLANE_JWT_PUBLIC_KEYS: JSON.stringify({ keys: [publicJwk(doc)] }),
      RUNPLANE_OIDC_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
      RUNPLANE_OIDC_ISSUER: 'https://idp.example.com',
      RUNPLANE_OIDC_AUDIENCE: 'runplane',
      RUNPLANE_GROUPS_CLAIM: 'https://example.com/groups',
      RUNPLANE_ROLE_CLAIM: 'realm_access.roles',
    };
    const config = loadRuntimeConfig(env);
    expect(config.auth).toMatchObject({
      jwt: { publicKeys: [publicJwk(doc)] },
      oidc: { jwksUrl: env.RUNPLANE_OIDC_JWKS_URL, issuer: env.RUNPLANE_OIDC_ISSUER, audience: 'runplane' },
      claims: { groups: 'https://example.com/groups', role: 'realm_access.roles' },
    });
    expect(loadRuntimeConfig(runtimeConfigToEnv(config))).toEqual(config);
  });

  it.each([
    ['a private key', { RUNPLANE_JWT_PUBLIC_KEYS: JSON.stringify([{ kty: 'EC', kid: 'k', d: 'secret' }]) }, /RUNPLANE_JWT_PUBLIC_KEYS/],
    ['keys that are not JSON', { RUNPLANE_JWT_PUBLIC_KEYS: '{' }, /RUNPLANE_JWT_PUBLIC_KEYS/],
    ['a key without kid', { RUNPLANE_JWT_PUBLIC_KEYS: JSON.stringify([{ kty: 'EC' }]) }, /RUNPLANE_JWT_PUBLIC_KEYS/],
    ['half an OIDC setup', { RUNPLANE_OIDC_ISSUER: 'https://idp' }, /go together/],
    ['plain http to a remote JWKS', { RUNPLANE_OIDC_JWKS_URL: 'http://idp.example.com/jwks', RUNPLANE_OIDC_ISSUER: 'i', RUNPLANE_OIDC_AUDIENCE: 'a' }, /RUNPLANE_OIDC_JWKS_URL/],
    ['an OIDC issuer equal to its own', { RUNPLANE_OIDC_JWKS_URL: 'https://idp/jwks', RUNPLANE_OIDC_ISSUER: 'runplane', RUNPLANE_OIDC_AUDIENCE: 'a' }, /must differ/],
  ])('fails fast on %s, naming the variable', (_name, extra, message) => {
    expect(() => loadRuntimeConfig({ ...BASE_ENV, ...extra })).toThrow(ConfigError);
    expect(() => loadRuntimeConfig({ ...BASE_ENV, ...extra })).toThrow(message);
  });
});

describe('token lifetime', () => {
  const at = new Date('2026-05-01T00:00:00Z');
  const setup = async (maxLifetimeSeconds?: number) => {
    const doc = await generateSigningKey({ issuer: 'iss-l', audience: 'aud-l' });
    const verify = createJwtVerifier({
      own: { issuer: 'iss-l', audience: 'aud-l', publicKeys: [publicJwk(doc)] },
      clock: () => at,
      ...(maxLifetimeSeconds === undefined ? {} : { maxLifetimeSeconds }),
    });
    return { doc, verify };
  };
  const claims = { subject: 'dave', role: 'member' as const, groups: ['ml'] };

  it('refuses a token living longer than 24 h by default, and accepts one within a raised maximum', async () => {
    const { doc, verify } = await setup();
    await expect(verify(await mintToken(doc, { ...claims, ttlSeconds: 24 * 3600 }, at))).resolves.toMatchObject({ subject: 'dave' });
    await expect(verify(await mintToken(doc, { ...claims, ttlSeconds: 24 * 3600 + 1 }, at))).rejects.toMatchObject({
      reason: expect.stringMatching(/lifetime/),
    });
    const raised = await setup(7 * 24 * 3600);
    await expect(raised.verify(await mintToken(raised.doc, { ...claims, ttlSeconds: 3 * 24 * 3600 }, at))).resolves.toMatchObject({ subject: 'dave' });
  });

  it('refuses a token issued in the future (beyond the clock tolerance)', async () => {
    const { doc, verify } = await setup();
    const future = new Date(at.getTime() + 120_000);
    await expect(verify(await mintToken(doc, { ...claims, ttlSeconds: 600 }, future))).rejects.toMatchObject({ reason: 'JWT issued in the future' });
    // Within the 30 s tolerance a slightly fast issuer clock is fine.
    await expect(verify(await mintToken(doc, { ...claims, ttlSeconds: 600 }, new Date(at.getTime() + 10_000)))).resolves.toBeTruthy();
  });

  it('measures a token without iat from now', async () => {
    const { doc, verify } = await setup();
    const { SignJWT, importJWK } = await import('jose');
    const key = await importJWK(doc.privateKey, 'ES256');
    const sign = (expiresIn: number) =>
      new SignJWT({ role: 'member', groups: ['ml'] })
        .setProtectedHeader({ alg: 'ES256', kid: doc.kid })
        .setIssuer('iss-l')
        .setAudience('aud-l')
        .setSubject('dave')
        .setExpirationTime(Math.floor(at.getTime() / 1000) + expiresIn)
        .sign(key);
    await expect(verify(await sign(3600))).resolves.toMatchObject({ subject: 'dave' });
    await expect(verify(await sign(48 * 3600))).rejects.toMatchObject({ reason: expect.stringMatching(/lifetime/) });
  });

  it('reads the maximum from RUNPLANE_JWT_MAX_LIFETIME_SECONDS (default 24 h) and refuses nonsense', () => {
    expect(loadRuntimeConfig(BASE_ENV).auth?.maxTokenLifetimeSeconds).toBe(86_400);
    expect(loadRuntimeConfig({ ...BASE_ENV, RUNPLANE_JWT_MAX_LIFETIME_SECONDS: '3600' }).auth?.maxTokenLifetimeSeconds).toBe(3600);
    expect(() => loadRuntimeConfig({ ...BASE_ENV, RUNPLANE_JWT_MAX_LIFETIME_SECONDS: 'forever' })).toThrow(ConfigError);
  });
});
