import { createHash } from 'node:crypto';
import { ValidationError } from '../errors.ts';
import type { IdempotencyGuard } from './store.ts';

export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
/** How long a key is remembered (DynamoDB TTL on the guard item). */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

/** JSON with object keys sorted at every level: equal documents hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * A guard for `key` used by `subject` for `action`: keys are scoped to the caller, so two users
 * picking the same key never see each other's jobs.
 */
export function idempotencyGuard(
  key: string | undefined,
  subject: string,
  action: string,
  request: unknown,
  now: Date,
): IdempotencyGuard | undefined {
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new ValidationError('invalid Idempotency-Key', [
      { path: 'Idempotency-Key', message: 'must be 1 to 128 characters of [A-Za-z0-9_.:-]' },
    ]);
  }
  return {
    key: `${subject}#${action}#${key}`,
    requestHash: createHash('sha256').update(canonicalJson(request)).digest('hex'),
    expiresAt: Math.floor(now.getTime() / 1000) + IDEMPOTENCY_TTL_SECONDS,
  };
}
