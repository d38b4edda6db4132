import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { DependencyError, ValidationError } from '../errors.ts';
import type { AuditEntryView } from './audit-log.ts';
import { canonicalJson } from './canonical-json.ts';
import { type AuditRecord, type ChainHead, type ChainId } from './entry.ts';
import { toEntry } from './verify.ts';

/**
 * The pure half of the DynamoDB audit log (dynamodb-audit-log.ts does the I/O): chain keys, the
 * record checks made before anything is written, items and heads as stored, page cursors.
 */

/** One action of a TransactWriteItems call (document-client form). */
export type TransactionAction = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

export type Item = Record<string, unknown>;

// An entry's details are capped so an entry costs a few write units whatever is recorded; a
// checkpoint of MAX_AUDIT_SHARDS shards (about 95 bytes each) fits.
export const MAX_DETAILS_BYTES = 16 * 1024;

/** The partition of a chain: its head item at seq 0 and its entries at seq 1, 2, ... */
export function chainKey(chain: ChainId): string {
  return chain === 'root' ? 'ROOT' : `SHARD#${chain}`;
}

/** Which item an action touches, as far as "one action per item per transaction" goes. */
export function itemIdentity(action: TransactionAction): string {
  const op = action.Put ?? action.Update ?? action.Delete ?? action.ConditionCheck;
  const key = op && 'Key' in op && op.Key ? op.Key : op && 'Item' in op && op.Item ? { pk: op.Item.pk, seq: op.Item.seq } : {};
  return `${op?.TableName ?? ''}|${JSON.stringify(key)}`;
}

export function approximateBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

export function shardIds(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

export function headFromItem(chain: ChainId, item: Item): ChainHead {
  const seq = item.headSeq;
  const hash = item.headHash;
  if (typeof seq !== 'number' || typeof hash !== 'string') {
    throw new DependencyError('audit log', new Error(`audit chain ${chainKey(chain)}: malformed head item`));
  }
  return { chain, seq, hash };
}

export function toView(chain: ChainId, item: Item): AuditEntryView[] {
  const entry = toEntry(item);
  return entry ? [{ ...entry, shard: chain }] : [];
}

export function contention(chain: ChainId, attempts: number, cause: unknown): DependencyError {
  return new DependencyError('audit log', new Error(`audit chain ${chainKey(chain)} stayed contended after ${attempts} tries`, { cause }));
}

/** Fails fast, before anything is written, on a record that could not be hashed or would bloat the chain. */
export function checkRecord(record: AuditRecord): void {
  for (const field of ['actor', 'action', 'target'] as const) {
    const value = record[field];
    if (typeof value !== 'string' || value.length === 0 || value.length > 512) {
      throw new AuditRecordError(`audit ${field} must be a string of 1 to 512 characters`);
    }
  }
  let size: number;
  try {
    size = Buffer.byteLength(canonicalJson(record.details), 'utf8');
  } catch (err) {
    throw new AuditRecordError(`audit details are not canonical JSON: ${(err as Error).message}`);
  }
  if (size > MAX_DETAILS_BYTES) throw new AuditRecordError(`audit details are ${size} bytes; at most ${MAX_DETAILS_BYTES}`);
  assertRoundTrips(record.details, 'details');
}

/**
 * DynamoDB reads numbers back as JS numbers only inside the safe-integer range (larger ones fail
 * to unmarshal), so such a number would make its entry unverifiable: refused up front.
 */
export function assertRoundTrips(value: unknown, path: string): void {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) throw new AuditRecordError(`${path} is an integer beyond 2^53`);
    return;
  }
  if (Array.isArray(value)) value.forEach((v, i) => assertRoundTrips(v, `${path}[${i}]`));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) assertRoundTrips(v, `${path}.${k}`);
  }
}

/**
 * A bug in a writer: the record it asked to append cannot be stored verifiably. Not a DomainError:
 * the client did nothing wrong, so the API answers 500 and logs it.
 */
export class AuditRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditRecordError';
  }
}

const CURSOR_VERSION = 1;

/** Page cursor: the last seq returned per chain, base64url JSON. A forged one is a 400, not a 500. */
export function encodePositions(positions: ReadonlyMap<ChainId, number>): string {
  const p = Object.fromEntries([...positions].filter(([, seq]) => seq > 0).map(([chain, seq]) => [String(chain), seq]));
  return Buffer.from(JSON.stringify({ v: CURSOR_VERSION, p }), 'utf8').toString('base64url');
}

export function decodePositions(cursor: string | undefined, chains: readonly ChainId[]): Map<ChainId, number> {
  const positions = new Map<ChainId, number>(chains.map((c) => [c, 0]));
  if (cursor === undefined || cursor === '') return positions;
  const invalid = () => new ValidationError('invalid cursor', [{ path: 'after', message: 'not a cursor this endpoint issued' }]);
  if (cursor.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const p = (parsed as { v?: unknown; p?: unknown } | null)?.p;
  if ((parsed as { v?: unknown }).v !== CURSOR_VERSION || typeof p !== 'object' || p === null || Array.isArray(p)) throw invalid();
  for (const [key, seq] of Object.entries(p)) {
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw invalid();
    const chain: ChainId = key === 'root' ? 'root' : /^(0|[1-9]\d{0,2})$/.test(key) ? Number(key) : Number.NaN;
    if (Number.isNaN(chain)) throw invalid();
    // Positions of chains not being listed are kept, so switching filters never rewinds them.
    positions.set(chain, seq);
  }
  return positions;
}
