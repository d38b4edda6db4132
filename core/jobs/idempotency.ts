import { createHash } from 'node:crypto';
import { canonicalJson, CanonicalJsonError } from '../audit/canonical-json.ts';
import { ValidationError } from '../errors.ts';
import type { IdempotencyGuard } from './store.ts';

export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
/** How long a key is remembered (DynamoDB TTL on the guard item). */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

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
  // RFC 8785, the audit chain's canonical form: same key + same document = same hash, whatever
  // the key order. A body it cannot hash (a lone surrogate) is the client's mistake.
  let canonical: string;
  try {
    canonical = canonicalJson(request);
  } catch (err) {
    if (!(err instanceof CanonicalJsonError)) throw err;
    throw new ValidationError('invalid request body', [{ path: err.path || '(root)', message: err.message }]);
  }
  return {
    key: `${subject}#${action}#${key}`,
    requestHash: createHash('sha256').update(canonical).digest('hex'),
    expiresAt: Math.floor(now.getTime() / 1000) + IDEMPOTENCY_TTL_SECONDS,
  };
}
