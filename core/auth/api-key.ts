import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { monotonicFactory } from 'ulid';

/**
 * API key format: `rp_<id>_<secret>`.
 * - `id`: a ULID (26 Crockford base32 characters, never `_`): public, sortable by creation, the
 *   key item's partition key, so verification is one GetItem.
 * - `secret`: 32 random bytes in base64url (43 characters, 256 bits).
 * Only SHA-256 of the whole key is stored. With 256 bits of entropy nobody can brute-force the
 * hash, so a slow password hash (bcrypt, scrypt) would buy nothing and cost ~100 ms per request
 * (specs/08-auth.md, decision 3).
 */
export const API_KEY_PREFIX = 'rp_';
export const API_KEY_SECRET_BYTES = 32;
export const API_KEY_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const API_KEY_PATTERN = /^rp_([0-9A-HJKMNP-TV-Z]{26})_([A-Za-z0-9_-]{43})$/;

const nextId = monotonicFactory();
export const newApiKeyId = (): string => nextId();

export interface GeneratedApiKey {
  readonly id: string;
  /** The full key, shown once to its creator. */
  readonly token: string;
  readonly hash: string;
}

export function generateApiKey(id: string = newApiKeyId()): GeneratedApiKey {
  const token = `${API_KEY_PREFIX}${id}_${randomBytes(API_KEY_SECRET_BYTES).toString('base64url')}`;
  return { id, token, hash: hashApiKey(token) };
}

/** The key's id, or undefined when the string is not shaped like an API key at all. */
export function parseApiKey(token: string): { id: string } | undefined {
  const match = API_KEY_PATTERN.exec(token);
  return match ? { id: match[1]! } : undefined;
}

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX);
}

/** Hex SHA-256 of the full key. */
export function hashApiKey(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

// Compared against when the key id is unknown, so both paths do the same work.
const DUMMY_HASH = hashApiKey('rp_00000000000000000000000000_none');

/** Constant-time comparison of a presented key with a stored hash (undefined: no such key). */
export function apiKeyMatches(token: string, storedHash: string | undefined): boolean {
  const presented = Buffer.from(hashApiKey(token), 'hex');
  const stored = Buffer.from(storedHash ?? DUMMY_HASH, 'hex');
  if (stored.length !== presented.length) return false;
  return timingSafeEqual(presented, stored) && storedHash !== undefined;
}
