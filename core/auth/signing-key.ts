import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import * as z from 'zod';
import type { Role } from './caller.ts';
import { readOptionalFile, writeSecretFile } from './local-files.ts';

/**
 * The deployment's own token signing key, as one JSON document: the private key (ES256, P-256) as
 * a JWK plus the issuer and audience its tokens carry. Locally it lives at
 * `.runplane/auth/signing-key.json` (mode 0600); on AWS the same document is the value of a
 * Secrets Manager secret, and only its public half reaches the API (RUNPLANE_JWT_PUBLIC_KEYS).
 */
export interface SigningKeyDocument {
  readonly kid: string;
  readonly alg: 'ES256';
  readonly issuer: string;
  readonly audience: string;
  readonly privateKey: JWK;
}

export const DEFAULT_JWT_ISSUER = 'runplane';
export const DEFAULT_JWT_AUDIENCE = 'runplane-api';
/** Tokens the deployment mints are short-lived: for longer access, create an API key. */
export const MAX_TOKEN_TTL_SECONDS = 30 * 24 * 3600;
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

const signingKeySchema = z.object({
  kid: z.string().min(1).max(128),
  alg: z.literal('ES256'),
  issuer: z.string().min(1).max(512),
  audience: z.string().min(1).max(512),
  privateKey: z.looseObject({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string(), d: z.string() }),
});

export async function generateSigningKey(
  options: { issuer?: string; audience?: string } = {},
): Promise<SigningKeyDocument> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  const { d: _d, ...pub } = jwk;
  const kid = await calculateJwkThumbprint(pub);
  return {
    kid,
    alg: 'ES256',
    issuer: options.issuer ?? DEFAULT_JWT_ISSUER,
    audience: options.audience ?? DEFAULT_JWT_AUDIENCE,
    privateKey: { ...jwk, kid, alg: 'ES256', use: 'sig' },
  };
}

/** Parses a signing key document (a file, a secret's value); throws with what is wrong. */
export function parseSigningKey(text: string): SigningKeyDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error('the signing key is not JSON');
  }
  const parsed = signingKeySchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`not a Runplane signing key: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data as SigningKeyDocument;
}

/** The public half, as it goes into RUNPLANE_JWT_PUBLIC_KEYS. */
export function publicJwk(doc: SigningKeyDocument): JWK {
  const { d: _d, key_ops: _ops, ...pub } = doc.privateKey;
  return { ...pub, kid: doc.kid, alg: 'ES256', use: 'sig' };
}

export interface TokenClaims {
  readonly subject: string;
  readonly role: Role;
  readonly groups: readonly string[];
  readonly ttlSeconds: number;
}

/**
 * Signs a token for `subject` (what `runplane token` prints). Claims: iss, aud, sub, iat, exp, jti
 * and the fixed `role` and `groups` claims the API reads from its own tokens.
 */
export async function mintToken(doc: SigningKeyDocument, claims: TokenClaims, now: Date = new Date()): Promise<string> {
  if (!Number.isInteger(claims.ttlSeconds) || claims.ttlSeconds < 1 || claims.ttlSeconds > MAX_TOKEN_TTL_SECONDS) {
    throw new Error(`ttl must be 1 to ${MAX_TOKEN_TTL_SECONDS} seconds`);
  }
  const key = await importJWK(doc.privateKey, 'ES256');
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({ role: claims.role, groups: [...claims.groups] })
    .setProtectedHeader({ alg: 'ES256', kid: doc.kid, typ: 'JWT' })
    .setIssuer(doc.issuer)
    .setAudience(doc.audience)
    .setSubject(claims.subject)
    .setIssuedAt(iat)
    .setExpirationTime(iat + claims.ttlSeconds)
    .setJti(randomUUID())
    .sign(key);
}

/**
 * The signing key document at `path`, created (0600, exclusively) on first use. A concurrent first
 * start that loses the race reads the winner's key instead of writing its own.
 */
export async function loadOrCreateSigningKey(
  path: string,
  options: { issuer?: string; audience?: string } = {},
): Promise<SigningKeyDocument> {
  const existing = await readOptionalFile(path);
  if (existing !== undefined) return parseSigningKey(existing);
  const doc = await generateSigningKey(options);
  try {
    await writeSecretFile(path, `${JSON.stringify(doc, null, 2)}\n`, { exclusive: true });
    return doc;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return parseSigningKey((await readOptionalFile(path)) ?? '');
  }
}
