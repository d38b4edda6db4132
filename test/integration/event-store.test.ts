import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbEventStore } from '../../core/events/dynamodb-event-store.ts';
import { InMemoryEventStore } from '../../core/events/memory-event-store.ts';
import type { JobEvent, OutputEvent, OutputStream } from '../../core/events/event.ts';
import type { EventStore } from '../../core/events/store.ts';
import { DYNAMODB_ITEM_LIMIT_BYTES, dynamoItemSizeBytes, eventToItem, maxOutputDataBytes } from '../../core/events/item-size.ts';
import { OutputBatcher } from '../../core/events/output-batcher.ts';
import { DependencyError } from '../../core/errors.ts';
import { newJobId } from '../../core/ids.ts';
import { EVENTS_TABLE, tableName } from '../../core/resources.ts';
import { createTestEnvironment, type TestEnvironment } from '../support/emulators.ts';

// Now, to the second: DynamoDB Local runs TTL deletions, so events stamped in the past with a short
// retention would vanish mid-test (a fixed date would make these tests fail once it is a month old).
const TS = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();

function output(jobId: string, attempt: number, seq: number, data: string, stream: OutputStream = 'stdout'): OutputEvent {
  return { jobId, attempt, seq, ts: TS, kind: 'output', stream, data };
}

/** Reads an attempt to the end, page by page, as a follower would. */
async function readAll(store: EventStore, jobId: string, attempt: number, limit = 100, from = 0): Promise<JobEvent[]> {
  const all: JobEvent[] = [];
  let after = from;
  for (;;) {
    const page = await store.list({ jobId, attempt, afterSeq: after, limit });
    all.push(...page.events);
    after = page.next;
    if (!page.hasMore) return all;
  }
}

// One conformance suite, every adapter: DynamoDB (on DynamoDB Local) and the in-memory store.
const adapters: [string, (env: TestEnvironment) => EventStore][] = [
  ['DynamoDbEventStore', (env) => new DynamoDbEventStore({ client: env.documentClient, tableName: tableName(env.prefix, EVENTS_TABLE), retentionDays: 30 })],
  ['InMemoryEventStore', () => new InMemoryEventStore()],
];

describe.each(adapters)('%s', (_name, create) => {
  let env: TestEnvironment;
  let store: EventStore;

  beforeAll(async () => {
    env = await createTestEnvironment();
    store = create(env);
  });
  afterAll(async () => env.cleanup());

  it('appends more than one BatchWriteItem’s worth and reads it back in pages', async () => {
    const jobId = newJobId();
    const events = Array.from({ length: 60 }, (_v, i) => output(jobId, 1, i + 1, `line ${i + 1}\n`, i % 3 === 0 ? 'stderr' : 'stdout'));
    await store.append(events);

    const first = await store.list({ jobId, attempt: 1, limit: 25 });
    expect(first.events.map((e) => e.seq)).toEqual(Array.from({ length: 25 }, (_v, i) => i + 1));
    expect(first).toMatchObject({ next: 25, hasMore: true });
    const second = await store.list({ jobId, attempt: 1, afterSeq: first.next, limit: 25 });
    expect(second.events.map((e) => e.seq)).toEqual(Array.from({ length: 25 }, (_v, i) => i + 26));
    const third = await store.list({ jobId, attempt: 1, afterSeq: second.next, limit: 25 });
    expect(third.events.map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_v, i) => i + 51));
    expect(third).toMatchObject({ next: 60, hasMore: false });
    expect([...first.events, ...second.events, ...third.events]).toEqual(events);

    // Caught up: nothing new, the cursor stays where it was.
    expect(await store.list({ jobId, attempt: 1, afterSeq: 60, limit: 25 })).toEqual({ events: [], next: 60, hasMore: false });
  });

  it('keeps attempts apart: seq 1 of attempt 2 does not overwrite seq 1 of attempt 1', async () => {
    const jobId = newJobId();
    await store.append([output(jobId, 1, 1, 'attempt one\n'), output(jobId, 1, 2, 'crashed\n')]);
    await store.append([output(jobId, 2, 1, 'attempt two\n')]);
    expect((await readAll(store, jobId, 1)).map((e) => (e as OutputEvent).data)).toEqual(['attempt one\n', 'crashed\n']);
    expect((await readAll(store, jobId, 2)).map((e) => (e as OutputEvent).data)).toEqual(['attempt two\n']);
    expect(await readAll(store, jobId, 3)).toEqual([]);
    expect(await readAll(store, newJobId(), 1)).toEqual([]);
  });

  it('stops a page at a missing seq, so a follower never steps over an event still being written', async () => {
    const jobId = newJobId();
    // BatchWriteItem is not atomic: seq 3 may still be retried while 4 and 5 are stored.
    await store.append([1, 2, 4, 5].map((seq) => output(jobId, 1, seq, `${seq}\n`)));
    expect(await store.list({ jobId, attempt: 1, limit: 10 })).toMatchObject({ next: 2, hasMore: false });
    expect((await store.list({ jobId, attempt: 1, limit: 10 })).events.map((e) => e.seq)).toEqual([1, 2]);
    expect(await store.list({ jobId, attempt: 1, afterSeq: 2, limit: 10 })).toEqual({ events: [], next: 2, hasMore: false });
    await store.append([output(jobId, 1, 3, '3\n')]);
    expect((await store.list({ jobId, attempt: 1, afterSeq: 2, limit: 10 })).events.map((e) => e.seq)).toEqual([3, 4, 5]);
  });

  it('is idempotent per (jobId, attempt, seq): a retried batch is harmless', async () => {
    const jobId = newJobId();
    const batch: JobEvent[] = [
      output(jobId, 1, 1, 'a\n'),
      { jobId, attempt: 1, seq: 2, ts: TS, kind: 'lifecycle', name: 'exited', details: { code: 0, signal: null, nested: { ok: true } } },
    ];
    await store.append(batch);
    await store.append(batch);
    await store.append([batch[0]!, batch[0]!]);
    expect(await readAll(store, jobId, 1)).toEqual(batch);
  });

  it('stores items at the 400 KB edge, with multi-byte data', async () => {
    const jobId = newJobId();
    const events = ['a', 'é', '€', '😀'].map((char, i) =>
      output(jobId, 9999, 999_999_999_990 + i, char.repeat(Math.floor(maxOutputDataBytes() / Buffer.byteLength(char)))),
    );
    await store.append(events);
    expect(await readAll(store, jobId, 9999, 10, 999_999_999_989)).toEqual(events);
  });

  it('refuses an item over 400 KB before writing anything', async () => {
    const jobId = newJobId();
    const fits = output(jobId, 1, 1, 'ok\n');
    const overhead = dynamoItemSizeBytes(eventToItem(output(jobId, 1, 2, '')));
    const tooBig = output(jobId, 1, 2, 'x'.repeat(DYNAMODB_ITEM_LIMIT_BYTES - overhead + 1));
    await expect(store.append([fits, tooBig])).rejects.toThrow(RangeError);
    expect(await readAll(store, jobId, 1)).toEqual([]);
  });

  it('stores what a batcher writes, reproducing the output exactly', async () => {
    const jobId = newJobId();
    const batcher = new OutputBatcher({ sink: store, jobId, attempt: 1, flushIntervalMs: 5, maxBatchItems: 7 });
    const written: Record<OutputStream, Buffer[]> = { stdout: [], stderr: [] };
    const write = (stream: OutputStream, bytes: Buffer) => {
      written[stream].push(bytes);
      // Cut every chunk in the middle of a character where there is one, as pipes do.
      const cut = Math.max(1, bytes.length - 2);
      batcher.write(stream, bytes.subarray(0, cut));
      batcher.write(stream, bytes.subarray(cut));
    };
    batcher.lifecycle('started', { pid: 1234 });
    for (let i = 0; i < 40; i++) {
      write(i % 4 === 3 ? 'stderr' : 'stdout', Buffer.from(`step ${i}: loss=${(1 / (i + 1)).toFixed(4)} ✓ 😀\n`));
    }
    // A line longer than one item, then more output.
    write('stdout', Buffer.from(`${'€'.repeat(200_000)}\n`));
    write('stdout', Buffer.from('done\n'));
    batcher.lifecycle('exited', { code: 0 });
    await batcher.close();

    const events = await readAll(store, jobId, 1, 10);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: batcher.lastSeq }, (_v, i) => i + 1));
    expect(events[0]).toMatchObject({ kind: 'lifecycle', name: 'started', details: { pid: 1234 } });
    expect(events.at(-1)).toMatchObject({ kind: 'lifecycle', name: 'exited', details: { code: 0 } });
    for (const stream of ['stdout', 'stderr'] as const) {
      const text = events
        .filter((e): e is OutputEvent => e.kind === 'output' && e.stream === stream)
        .map((e) => e.data)
        .join('');
      expect(text).toBe(Buffer.concat(written[stream]).toString('utf8'));
    }
  });
});

describe('DynamoDbEventStore on DynamoDB Local', () => {
  let env: TestEnvironment;
  let store: DynamoDbEventStore;
  let table: string;

  beforeAll(async () => {
    env = await createTestEnvironment();
    table = tableName(env.prefix, EVENTS_TABLE);
    // Uncompressed: these tests measure raw item sizes and pages (compression has its own test below).
    store = new DynamoDbEventStore({ client: env.documentClient, tableName: table, retentionDays: 7, compressOutput: false });
  });
  afterAll(async () => env.cleanup());

  it('writes the item shape of the events table, with a TTL from the event time', async () => {
    const jobId = newJobId();
    await store.append([output(jobId, 2, 5, 'hi\n', 'stderr')]);
    const { Item } = await env.documentClient.send(new GetCommand({ TableName: table, Key: { pk: `${jobId}#2`, seq: 5 } }));
    expect(Item).toEqual({ pk: `${jobId}#2`, seq: 5, kind: 'output', ts: TS, stream: 'stderr', data: 'hi\n', expiresAt: Date.parse(TS) / 1000 + 7 * 86_400 });
  });

  it('stores output deflated when that pays (fewer write units), and reads back the same events', async () => {
    const compressing = new DynamoDbEventStore({ client: env.documentClient, tableName: table });
    const jobId = newJobId();
    const text = 'epoch 1 loss=0.25 acc=0.9\n'.repeat(400);
    const binary = { ...output(jobId, 1, 2, Buffer.alloc(3000, 0xfe).toString('base64')), encoding: 'base64' as const };
    const events = [output(jobId, 1, 1, text), binary, output(jobId, 1, 3, 'short\n')];
    await compressing.append(events);
    const stored = await Promise.all(
      [1, 2, 3].map(async (seq) => (await env.documentClient.send(new GetCommand({ TableName: table, Key: { pk: `${jobId}#1`, seq } }))).Item!),
    );
    expect(stored.map((item) => [item.z instanceof Uint8Array, 'data' in item])).toEqual([[true, false], [true, false], [false, true]]);
    expect((stored[0]!.z as Uint8Array).length).toBeLessThan(text.length / 10);
    expect((await compressing.list({ jobId, attempt: 1, limit: 10 })).events).toEqual(events);
  });

  // Our arithmetic against the emulator's: padded to exactly 409,600 bytes by dynamoItemSizeBytes an
  // item is accepted, one byte more and DynamoDB refuses it. (Written directly, past the store's check.)
  const shapes: [string, (pad: string) => Record<string, unknown>][] = [
    ['a worst-case output event', (pad) => eventToItem({ ...output('01HZY7ZC5K3W9Q4XG8N2B6T1VR', 9999, 999_999_999_999, pad), data: `é€😀${pad}` }, 99_999_999_999)],
    ['a lifecycle event with nested details', (pad) => eventToItem({ jobId: 'j', attempt: 1, seq: 2, ts: TS, kind: 'lifecycle', name: 'exited', details: { code: -1, signal: null, ok: false, list: [1, 'two', [], {}], pad } })],
    ['numbers with fractions and signs', (pad) => ({ pk: 'n#1', seq: 3, a: 1.5, b: -12345.678, c: 0.0001, d: 3.14159, e: 1_767_225_600, pad })],
    ['multi-byte attribute names', (pad) => ({ pk: 'é#1', seq: 4, nämé: '😀', pad })],
  ];
  it.each(shapes)('matches DynamoDB’s own size accounting for %s', async (_name, shape) => {
    const padFor = (target: number) => 'x'.repeat(target - dynamoItemSizeBytes(shape('')));
    const atLimit = shape(padFor(DYNAMODB_ITEM_LIMIT_BYTES));
    expect(dynamoItemSizeBytes(atLimit)).toBe(DYNAMODB_ITEM_LIMIT_BYTES);
    await env.documentClient.send(new PutCommand({ TableName: table, Item: atLimit }));
    const over = shape(padFor(DYNAMODB_ITEM_LIMIT_BYTES + 1));
    await expect(env.documentClient.send(new PutCommand({ TableName: table, Item: over }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/size/i),
    });
  });

  it('returns at most one Query page (1 MB) and says there is more', async () => {
    const jobId = newJobId();
    const big = Array.from({ length: 4 }, (_v, i) => output(jobId, 1, i + 1, String(i).repeat(maxOutputDataBytes())));
    await store.append(big);
    const page = await store.list({ jobId, attempt: 1, limit: 100 });
    expect(page.events.length).toBeLessThan(4);
    expect(page.hasMore).toBe(true);
    expect(page.next).toBe(page.events.length);
    expect(await readAll(store, jobId, 1)).toEqual(big);
  });

  it('translates SDK failures into DependencyError', async () => {
    const missing = new DynamoDbEventStore({ client: env.documentClient, tableName: `${env.prefix}-missing`, sleep: async () => {} });
    await expect(missing.append([output(newJobId(), 1, 1, 'x')])).rejects.toBeInstanceOf(DependencyError);
    await expect(missing.list({ jobId: newJobId(), attempt: 1, limit: 10 })).rejects.toBeInstanceOf(DependencyError);
  });
});

// Unit tests of the retry loop: DynamoDB Local never answers with UnprocessedItems, so a mocked client does.
describe('DynamoDbEventStore retries (mocked DynamoDB)', () => {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }));
  const ddb = mockClient(client);
  const jobId = '01HZY7ZC5K3W9Q4XG8N2B6T1VR';
  let sleeps: number[];
  const make = (maxTries = 8) =>
    new DynamoDbEventStore({
      client,
      tableName: 'events',
      maxTries,
      random: () => 0.5,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
  const putItems = (call: number) =>
    (ddb.commandCalls(BatchWriteCommand)[call]!.args[0].input.RequestItems!.events ?? []).map((r) => r.PutRequest!.Item!);

  beforeEach(() => {
    ddb.reset();
    sleeps = [];
  });
  afterAll(() => ddb.restore());

  it('re-sends UnprocessedItems with growing backoff until none are left', async () => {
    const events = Array.from({ length: 30 }, (_v, i) => output(jobId, 1, i + 1, `${i}\n`));
    const items = events.map((e) => eventToItem(e));
    ddb
      .on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { events: items.slice(3, 6).map((Item) => ({ PutRequest: { Item } })) } })
      .resolvesOnce({ UnprocessedItems: { events: [{ PutRequest: { Item: items[5]! } }] } })
      .resolves({ UnprocessedItems: {} });

    await make().append(events);

    const calls = ddb.commandCalls(BatchWriteCommand);
    expect(calls).toHaveLength(4);
    expect(putItems(0)).toEqual(items.slice(0, 25));
    expect(putItems(1)).toEqual(items.slice(3, 6));
    expect(putItems(2)).toEqual([items[5]]);
    expect(putItems(3)).toEqual(items.slice(25));
    // Full jitter (random() = 0.5) over 50 ms, then 100 ms.
    expect(sleeps).toEqual([25, 50]);
  });

  it('retries throttling errors, and gives up with a DependencyError after maxTries calls', async () => {
    ddb.on(BatchWriteCommand).rejectsOnce(Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } })).resolves({});
    await make().append([output(jobId, 1, 1, 'x')]);
    expect(ddb.commandCalls(BatchWriteCommand)).toHaveLength(2);

    ddb.reset();
    sleeps = [];
    const item = eventToItem(output(jobId, 1, 1, 'x'));
    ddb.on(BatchWriteCommand).resolves({ UnprocessedItems: { events: [{ PutRequest: { Item: item } }] } });
    const err = await make(5).append([output(jobId, 1, 1, 'x')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyError);
    expect(ddb.commandCalls(BatchWriteCommand)).toHaveLength(5);
    // Exponential, capped at 2 s, full jitter: 0.5 × min(2000, 50·2ⁿ).
    expect(sleeps).toEqual([25, 50, 100, 200]);
  });

  it('does not retry a request DynamoDB rejects as invalid', async () => {
    ddb.on(BatchWriteCommand).rejects(Object.assign(new Error('bad'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } }));
    await expect(make().append([output(jobId, 1, 1, 'x')])).rejects.toBeInstanceOf(DependencyError);
    expect(ddb.commandCalls(BatchWriteCommand)).toHaveLength(1);
  });

  it('sends nothing when an event is too large', async () => {
    ddb.on(BatchWriteCommand).resolves({});
    await expect(make().append([output(jobId, 1, 1, 'ok'), output(jobId, 1, 2, 'x'.repeat(DYNAMODB_ITEM_LIMIT_BYTES))])).rejects.toThrow(RangeError);
    expect(ddb.commandCalls(BatchWriteCommand)).toHaveLength(0);
  });

  it('reports a stopped Query as hasMore and continues from the last seq', async () => {
    ddb.on(QueryCommand).resolves({ Items: [eventToItem(output(jobId, 1, 7, 'a'))], LastEvaluatedKey: { pk: `${jobId}#1`, seq: 7 } });
    const page = await make().list({ jobId, attempt: 1, afterSeq: 6, limit: 1 });
    expect(page).toEqual({ events: [output(jobId, 1, 7, 'a')], next: 7, hasMore: true });
    expect(ddb.commandCalls(QueryCommand)[0]!.args[0].input).toMatchObject({
      ExpressionAttributeValues: { ':pk': `${jobId}#1`, ':after': 6 },
      ConsistentRead: true,
      Limit: 1,
    });
  });
});
