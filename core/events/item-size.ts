import { NumberValueImpl } from '@aws-sdk/util-dynamodb';
import type { JobEvent, OutputStream } from './event.ts';

/**
 * DynamoDB item sizes, and the stored shape of a job event.
 *
 * DynamoDB refuses an item over 400 KB, counting attribute names and values together (see
 * specs/05-output-batching.md). The output batcher sizes its events from the arithmetic here, so
 * an event it builds always fits; the store checks every item again before sending it.
 */

/** 400 KB: the limit applies to names and values together. */
export const DYNAMODB_ITEM_LIMIT_BYTES = 409_600;

/** The worst case `maxOutputDataBytes` provisions for. Job ids are 26-character ULIDs. */
export const MAX_JOB_ID_BYTES = 26;
export const MAX_ATTEMPT = 9_999;
/** Largest seq provisioned for: 12 significant digits (a trillion events per attempt). */
export const MAX_SEQ = 999_999_999_999;
/** Epoch seconds with 11 digits: beyond the year 5000, so any real expiry is no longer. */
export const MAX_EXPIRES_AT = 99_999_999_999;
/** `Date#toISOString()` length for years 0000 to 9999: `2026-01-01T00:00:00.000Z`. */
export const ISO_TIMESTAMP_LENGTH = 24;

const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/**
 * DynamoDB's size of a number. The documented rule is "about 1 byte per two significant digits,
 * plus 1"; the storage format behind it is base-100 digits aligned on the decimal point, plus an
 * exponent byte and a byte for a negative sign. So 1.5 takes 3 bytes ("01" "50"), not 2; counting
 * aligned pairs is never below the documented estimate and matches DynamoDB Local byte for byte.
 * Leading and trailing zeros are not significant; zero is counted as one digit.
 */
function numberSize(text: string): number {
  const negative = text.startsWith('-');
  const [mantissa = '', exponent = '0'] = text.replace(/^[-+]/, '').toLowerCase().split('e');
  const [intPart = '', fracPart = ''] = mantissa.split('.');
  const digits = intPart + fracPart;
  const first = digits.search(/[1-9]/);
  if (first < 0) return 2;
  const last = digits.length - 1 - [...digits].reverse().join('').search(/[1-9]/);
  // Power of ten of the first and last significant digit, then the base-100 pairs they span.
  const power = (index: number) => intPart.length - 1 - index + Number(exponent);
  const pairs = Math.floor(power(first) / 2) - Math.floor(power(last) / 2) + 1;
  return pairs + 1 + (negative ? 1 : 0);
}

/** Size of one attribute value by DynamoDB's rules, rounded up wherever the rules are approximate. */
function valueSize(value: unknown): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return utf8Bytes(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`DynamoDB cannot store the number ${value}`);
    return numberSize(String(value));
  }
  if (typeof value === 'bigint') return numberSize(value.toString());
  if (value instanceof NumberValueImpl) return numberSize(value.value);
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) return value.byteLength;
  if (Array.isArray(value)) return containerSize(value.map((v) => ['', v] as const));
  // Sets are not documented with an overhead; counting them like lists keeps the estimate an upper bound.
  if (value instanceof Set) return containerSize([...(value as Set<unknown>)].map((v) => ['', v] as const));
  if (typeof value === 'object' && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)) {
    return containerSize(Object.entries(value as Record<string, unknown>));
  }
  throw new TypeError(`DynamoDB cannot store a value of type ${typeof value === 'object' ? value.constructor.name : typeof value}`);
}

/** A list or map: 3 bytes of overhead, 1 byte per element, and each element (map keys included). */
function containerSize(entries: readonly (readonly [string, unknown])[]): number {
  let size = 3;
  for (const [name, value] of entries) {
    // The document client drops undefined values (removeUndefinedValues), so they cost nothing.
    if (value === undefined) continue;
    size += 1 + utf8Bytes(name) + valueSize(value);
  }
  return size;
}

/**
 * The size DynamoDB charges an item against its 400 KB limit: for each attribute, the UTF-8 bytes
 * of its name plus its value (strings: UTF-8 bytes; numbers: 1 byte per 2 significant digits
 * (aligned on the decimal point) + 1; binary: raw bytes; booleans and null: 1; lists and maps: 3 + 1 per element + the elements).
 * Never an under-estimate: where DynamoDB's rule is approximate this rounds up.
 *
 * @example dynamoItemSizeBytes({ pk: 'abc', seq: 12345 }) // (2 + 3) + (3 + 4) = 12
 */
export function dynamoItemSizeBytes(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    size += utf8Bytes(name) + valueSize(value);
  }
  return size;
}

/** Throws a RangeError when the item cannot be stored; `what` names it in the message. */
export function assertWithinItemLimit(item: Record<string, unknown>, what: string): void {
  const size = dynamoItemSizeBytes(item);
  if (size > DYNAMODB_ITEM_LIMIT_BYTES) {
    throw new RangeError(`${what} is ${size} bytes as a DynamoDB item; the limit is ${DYNAMODB_ITEM_LIMIT_BYTES}`);
  }
}

/** Partition key of an attempt's events: attempts never share (or overwrite) a partition. */
export function eventPartitionKey(jobId: string, attempt: number): string {
  return `${jobId}#${attempt}`;
}

/**
 * The stored item. Job id and attempt live only in `pk` (every byte not spent on keys is a byte of
 * output); `expiresAt` is the TTL attribute, in epoch seconds, when the store has a retention.
 */
export function eventToItem(event: JobEvent, expiresAt?: number): Record<string, unknown> {
  const base = { pk: eventPartitionKey(event.jobId, event.attempt), seq: event.seq, kind: event.kind, ts: event.ts };
  const body =
    event.kind === 'output'
      ? { stream: event.stream, data: event.data, ...(event.encoding ? { encoding: event.encoding } : {}) }
      : { name: event.name, details: event.details };
  return { ...base, ...body, ...(expiresAt === undefined ? {} : { expiresAt }) };
}

/** Inverse of `eventToItem` (the TTL attribute is storage detail and is dropped). */
export function itemToEvent(item: Record<string, unknown>): JobEvent {
  const pk = String(item.pk);
  const hash = pk.lastIndexOf('#');
  const jobId = pk.slice(0, hash);
  const attempt = Number(pk.slice(hash + 1));
  const common = { jobId, attempt, seq: Number(item.seq), ts: String(item.ts) };
  if (item.kind === 'output') {
    return {
      ...common,
      kind: 'output',
      stream: item.stream as OutputStream,
      data: String(item.data ?? ''),
      ...(item.encoding === 'base64' ? { encoding: 'base64' as const } : {}),
    };
  }
  return {
    ...common,
    kind: 'lifecycle',
    name: String(item.name),
    details: (item.details as Record<string, unknown> | undefined) ?? {},
  };
}

/**
 * How many UTF-8 bytes of `data` fit in one output event item, for the worst case of every other
 * attribute: a job id of `jobIdBytes` (at least a 26-character ULID), attempt 9999, a 12-digit seq,
 * a 24-character ISO timestamp, stream `stdout`/`stderr` (6 characters either way) and an 11-digit
 * `expiresAt`. With the defaults that is 409,600 - 111 = 409,489 bytes:
 *
 *   pk        2 + 31 (26 + '#' + '9999')   33
 *   seq       3 + (6 + 1)                  10
 *   kind      4 + 6 ('output')             10
 *   ts        2 + 24                       26
 *   stream    6 + 6                        12
 *   data      4 + N                         4
 *   expiresAt 9 + (6 + 1)                  16   → 111 + N
 *
 * A binary event (`encoding: 'base64'`) also carries `encoding` = 8 + 6 bytes: 409,475 base64
 * characters, so 307,104 raw bytes (whole 4-character groups).
 */
export function maxOutputDataBytes(jobIdBytes: number = MAX_JOB_ID_BYTES, encoding?: 'base64'): number {
  const worstCase = eventToItem(
    {
      jobId: 'J'.repeat(Math.max(jobIdBytes, MAX_JOB_ID_BYTES)),
      attempt: MAX_ATTEMPT,
      seq: MAX_SEQ,
      ts: 'T'.repeat(ISO_TIMESTAMP_LENGTH),
      kind: 'output',
      stream: 'stdout',
      data: '',
      ...(encoding ? { encoding } : {}),
    },
    MAX_EXPIRES_AT,
  );
  return DYNAMODB_ITEM_LIMIT_BYTES - dynamoItemSizeBytes(worstCase);
}
