import { describe, expect, it } from 'vitest';
import { NumberValueImpl } from '@aws-sdk/util-dynamodb';
import type { JobEvent } from '../../core/events/event.ts';
import type { EventSink } from '../../core/events/store.ts';
import {
  DYNAMODB_ITEM_LIMIT_BYTES,
  MAX_EXPIRES_AT,
  assertWithinItemLimit,
  dynamoItemSizeBytes,
  eventToItem,
  itemToEvent,
  maxOutputDataBytes,
} from '../../core/events/item-size.ts';
import { OutputBatcher } from '../../core/events/output-batcher.ts';

const ULID = '01HZY7ZC5K3W9Q4XG8N2B6T1VR';

describe('dynamoItemSizeBytes follows DynamoDB’s documented rules', () => {
  // name bytes + value bytes; see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
  const cases: [string, Record<string, unknown>, number][] = [
    ['ASCII string: name + UTF-8 bytes', { pk: 'abc' }, 2 + 3],
    ['multi-byte name and value', { é: 'é€😀' }, 2 + (2 + 3 + 4)],
    ['empty string', { s: '' }, 1],
    ['integer: 5 significant digits → 3 + 1', { seq: 12345 }, 3 + 4],
    ['zero counts as one digit', { n: 0 }, 1 + 2],
    ['trailing zeros are trimmed', { n: 1_000_000 }, 1 + 2],
    ['leading zeros of a fraction are trimmed', { n: 0.000123 }, 1 + 3],
    ['negative: one more byte', { n: -12 }, 1 + 3],
    // Digits pair up on either side of the decimal point (base-100): 1.5 is "01" "50". These and
    // the items below were checked against DynamoDB Local, which refuses one byte more.
    ['a fraction pairs from the decimal point', { n: 1.5 }, 1 + 3],
    ['12.5 → "12" "50"', { n: 12.5 }, 1 + 3],
    ['3.14159 → "03" "14" "15" "90"', { n: 3.14159 }, 1 + 5],
    ['-12345.678 → 5 pairs + exponent + sign', { n: -12345.678 }, 1 + 7],
    ['epoch seconds', { n: 1_767_225_600 }, 1 + 5],
    ['exponent form', { n: 1e21 }, 1 + 2],
    ['12-digit seq', { seq: 999_999_999_999 }, 3 + 7],
    ['bigint', { n: 12345678901234567890n }, 1 + 11],
    ['NumberValue keeps its digits', { n: NumberValueImpl.from('3.14159265358979323846') }, 1 + (11 + 1)],
    ['boolean', { ok: true }, 2 + 1],
    ['null', { z: null }, 1 + 1],
    ['binary: raw bytes', { b: new Uint8Array(10) }, 1 + 10],
    ['empty map', { m: {} }, 1 + 3],
    ['map: 3 + per entry (1 + name + value)', { m: { a: 'x', b: 1 } }, 1 + 3 + (1 + 1 + 1) + (1 + 1 + 2)],
    ['empty list', { l: [] }, 1 + 3],
    ['nested list', { l: ['ab', [true]] }, 1 + 3 + (1 + 2) + (1 + (3 + 1 + 1))],
    ['undefined attributes are not stored', { u: undefined, a: 'x' }, 1 + 1],
    ['string set counted like a list (upper bound)', { ss: new Set(['a', 'bc']) }, 2 + 3 + (1 + 1) + (1 + 2)],
  ];

  it.each(cases)('%s', (_name, item, expected) => {
    expect(dynamoItemSizeBytes(item)).toBe(expected);
  });

  it.each([
    ['a function', { f: () => 1 }],
    ['a Date (the document client stores no class instances)', { d: new Date() }],
    ['NaN', { n: Number.NaN }],
  ])('refuses %s', (_name, item) => {
    expect(() => dynamoItemSizeBytes(item)).toThrow(TypeError);
  });

  it('measures a stored output event attribute by attribute', () => {
    const event: JobEvent = { jobId: ULID, attempt: 2, seq: 17, ts: '2026-01-01T00:00:00.000Z', kind: 'output', stream: 'stderr', data: 'hé\n' };
    const item = eventToItem(event, 1_767_225_600);
    expect(item).toEqual({ pk: `${ULID}#2`, seq: 17, kind: 'output', ts: event.ts, stream: 'stderr', data: 'hé\n', expiresAt: 1_767_225_600 });
    // pk 2+28, seq 3+2, kind 4+6, ts 2+24, stream 6+6, data 4+4, expiresAt 9+(ceil(8/2)+1) (trailing zeros trimmed: 17672256)
    expect(dynamoItemSizeBytes(item)).toBe(30 + 5 + 10 + 26 + 12 + 8 + 14);
  });
});

describe('eventToItem / itemToEvent', () => {
  const events: [string, JobEvent, number | undefined][] = [
    ['output, no TTL', { jobId: ULID, attempt: 1, seq: 1, ts: '2026-01-01T00:00:00.000Z', kind: 'output', stream: 'stdout', data: 'x😀\n' }, undefined],
    [
      'lifecycle with TTL',
      { jobId: ULID, attempt: 3, seq: 9, ts: '2026-01-01T00:00:01.000Z', kind: 'lifecycle', name: 'exited', details: { code: 1, signal: null } },
      1_800_000_000,
    ],
    ['job id containing #', { jobId: 'a#b', attempt: 12, seq: 4, ts: '2026-01-01T00:00:00.000Z', kind: 'output', stream: 'stderr', data: '' }, undefined],
  ];

  it.each(events)('round-trips %s', (_name, event, expiresAt) => {
    const item = eventToItem(event, expiresAt);
    expect(item.expiresAt).toBe(expiresAt);
    expect(itemToEvent(item)).toEqual(event);
  });
});

describe('maxOutputDataBytes', () => {
  it('is the item limit minus the worst-case size of every other attribute', () => {
    expect(maxOutputDataBytes()).toBe(409_600 - 111);
    // A job id longer than a ULID takes its extra bytes from the data.
    expect(maxOutputDataBytes(40)).toBe(409_600 - 111 - 14);
    expect(maxOutputDataBytes(10)).toBe(maxOutputDataBytes());
  });

  it('fills a worst-case item to exactly 409,600 bytes', () => {
    const event: JobEvent = {
      jobId: ULID,
      attempt: 9999,
      seq: 999_999_999_999,
      ts: '2026-01-01T00:00:00.000Z',
      kind: 'output',
      stream: 'stdout',
      data: 'a'.repeat(maxOutputDataBytes()),
    };
    expect(dynamoItemSizeBytes(eventToItem(event, MAX_EXPIRES_AT))).toBe(DYNAMODB_ITEM_LIMIT_BYTES);
    expect(() => assertWithinItemLimit(eventToItem(event, MAX_EXPIRES_AT), 'edge')).not.toThrow();
    const over = { ...event, data: `${event.data}a` };
    expect(() => assertWithinItemLimit(eventToItem(over, MAX_EXPIRES_AT), 'edge')).toThrow(RangeError);
  });
});

describe('the largest event the batcher builds sits at the 400 KB edge', () => {
  class CollectingSink implements EventSink {
    readonly events: JobEvent[] = [];
    async append(events: readonly JobEvent[]) {
      this.events.push(...events);
    }
  }

  // 1-, 2-, 3- and 4-byte characters ('😀' is a surrogate pair in JS).
  it.each([
    ['a', 1],
    ['é', 2],
    ['€', 3],
    ['😀', 4],
  ])('with data made of %s', async (char, width) => {
    expect(Buffer.byteLength(char)).toBe(width);
    const sink = new CollectingSink();
    // The worst case the arithmetic provisions for: a ULID, attempt 9999, a 12-digit seq.
    const batcher = new OutputBatcher({
      sink,
      jobId: ULID,
      attempt: 9999,
      firstSeq: 999_999_999_998,
      clock: () => new Date('2026-01-01T00:00:00.000Z'),
      // Events as large as an item may be, to probe the 400 KB edge itself.
      maxEventDataBytes: DYNAMODB_ITEM_LIMIT_BYTES,
    });
    const text = char.repeat(Math.ceil((maxOutputDataBytes() * 1.5) / width));
    batcher.write('stdout', Buffer.from(text));
    await batcher.close();

    expect(sink.events.map((e) => e.seq)).toEqual([999_999_999_998, 999_999_999_999]);
    const [largest] = sink.events;
    if (largest?.kind !== 'output') throw new Error('expected an output event');
    const size = dynamoItemSizeBytes(eventToItem(largest, MAX_EXPIRES_AT));
    expect(size).toBeLessThanOrEqual(DYNAMODB_ITEM_LIMIT_BYTES);
    const oneMore = { ...largest, data: largest.data + char };
    expect(dynamoItemSizeBytes(eventToItem(oneMore, MAX_EXPIRES_AT))).toBeGreaterThan(DYNAMODB_ITEM_LIMIT_BYTES);
    expect(size + width).toBeGreaterThan(DYNAMODB_ITEM_LIMIT_BYTES);
    // Cut on a character boundary, and nothing lost.
    expect(largest.data).toBe(char.repeat(largest.data.length / char.length));
    expect(sink.events.map((e) => (e.kind === 'output' ? e.data : '')).join('')).toBe(text);
  });
});
