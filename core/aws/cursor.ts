import { ValidationError } from '../errors.ts';
import { malformedTextReason } from '../text-rules.ts';

/**
 * Page cursors are DynamoDB's LastEvaluatedKey, base64url-encoded. Decoding checks the shape and
 * that the cursor belongs to the partition being queried, so a forged cursor is a 400, not a 500.
 */
export function encodeCursor(key: Record<string, unknown> | undefined): string | null {
  return key ? Buffer.from(JSON.stringify(key), 'utf8').toString('base64url') : null;
}

/** The DynamoDB type of each attribute of a page's key: `S` for strings, `N` for numbers. */
export type CursorKeyTypes = Readonly<Record<string, 'S' | 'N'>>;

export function decodeCursor(
  cursor: string | undefined,
  keyTypes: CursorKeyTypes,
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
  if (entries.length !== Object.keys(keyTypes).length) throw invalid();
  // Each attribute must have the type the key schema declares, or DynamoDB refuses the query with
  // a ValidationException that would surface as a 503; `1e400` parses to Infinity, which the SDK
  // cannot marshal, and a string with a lone surrogate cannot be encoded at all. Empty strings and
  // strings past the 1024-byte sort-key limit are refused by DynamoDB too.
  for (const [k, v] of entries) {
    const type = Object.hasOwn(keyTypes, k) ? keyTypes[k] : undefined;
    if (type === 'S' && (typeof v !== 'string' || !isKeyString(v))) throw invalid();
    if (type === 'N' && (typeof v !== 'number' || !Number.isSafeInteger(v))) throw invalid();
    if (type === undefined) throw invalid();
  }
  const key = parsed as Record<string, string | number>;
  for (const [k, v] of Object.entries(mustMatch)) if (key[k] !== v) throw invalid();
  return key;
}

function isKeyString(v: string): boolean {
  return v !== '' && Buffer.byteLength(v, 'utf8') <= 1024 && malformedTextReason(v) === undefined;
}
