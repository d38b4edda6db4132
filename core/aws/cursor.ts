import { ValidationError } from '../errors.ts';

/**
 * Page cursors are DynamoDB's LastEvaluatedKey, base64url-encoded. Decoding checks the shape and
 * that the cursor belongs to the partition being queried, so a forged cursor is a 400, not a 500.
 */
export function encodeCursor(key: Record<string, unknown> | undefined): string | null {
  return key ? Buffer.from(JSON.stringify(key), 'utf8').toString('base64url') : null;
}

export function decodeCursor(
  cursor: string | undefined,
  expectedKeys: readonly string[],
  mustMatch: Record<string, string | number> = {},
): Record<string, string | number> | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const invalid = () => new ValidationError('invalid cursor', [{ path: 'cursor', message: 'not a cursor this endpoint issued' }]);
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid();
  const entries = Object.entries(parsed);
  if (entries.length !== expectedKeys.length) throw invalid();
  for (const [k, v] of entries) {
    if (!expectedKeys.includes(k) || (typeof v !== 'string' && typeof v !== 'number')) throw invalid();
  }
  const key = parsed as Record<string, string | number>;
  for (const [k, v] of Object.entries(mustMatch)) if (key[k] !== v) throw invalid();
  return key;
}
