import { inflateRawSync } from 'node:zlib';
import { BatchWriteCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dependencyFailure } from '../aws/errors.ts';
import { DependencyError } from '../errors.ts';
import { retry, RetriesExhaustedError } from '../retry.ts';
import { deflatedOutput, DEFLATE_MIN_BYTES } from './deflated-output.ts';
import type { JobEvent } from './event.ts';
import { assertWithinItemLimit, eventPartitionKey, eventToItem, itemToEvent } from './item-size.ts';
import { contiguousPage, type EventPage, type EventStore, type ListEventsQuery } from './store.ts';

/** BatchWriteItem takes at most 25 put or delete requests per call. */
export const BATCH_WRITE_MAX_ITEMS = 25;

const DEPENDENCY = 'event store';

/** Output of at least this many bytes is stored compressed when that saves at least a tenth. */
export const COMPRESS_MIN_BYTES = DEFLATE_MIN_BYTES;

/**
 * Write units are per KB of item, so output is stored deflated (`z`, binary, instead of `data`)
 * when that is worth it: job logs compress 3 to 10 times. Deterministic (same bytes, same level),
 * so a retried put still writes the same item.
 */
async function compressOutput(event: JobEvent, item: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (event.kind !== 'output') return item;
  const size = Buffer.byteLength(event.data, 'utf8');
  if (size < COMPRESS_MIN_BYTES) return item;
  const z = await deflatedOutput(event);
  if (z.length > size * 0.9) return item;
  const { data: _data, ...rest } = item;
  return { ...rest, z: new Uint8Array(z.buffer, z.byteOffset, z.length) };
}

/** Inverse of compressOutput. */
function decompressOutput(item: Record<string, unknown>): Record<string, unknown> {
  if (!(item.z instanceof Uint8Array)) return item;
  const bytes = inflateRawSync(item.z);
  const { z: _z, ...rest } = item;
  return { ...rest, data: bytes.toString(item.encoding === 'base64' ? 'base64' : 'utf8') };
}

export interface DynamoDbEventStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** When set, items get `expiresAt` = event time + this many days, and DynamoDB's TTL removes them. */
  readonly retentionDays?: number;
  /** Waits between retries; injected so tests do not sleep. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Calls per chunk before giving up with a DependencyError (default 8: about 5 s of backoff). */
  readonly maxTries?: number;
  /** Jitter source in [0, 1); Math.random by default. */
  readonly random?: () => number;
  /** Store output of 1 KiB or more deflated (`z`) when that pays; default true. */
  readonly compressOutput?: boolean;
}

const BACKOFF_BASE_MS = 50;
const BACKOFF_CAP_MS = 2_000;

/**
 * Errors worth another try: throttling, DynamoDB's 5xx, and failures without an HTTP response
 * (connection reset, timeout). A ValidationException or a missing table will not heal by waiting.
 */
function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (e.$retryable) return true;
  if (
    [
      'ProvisionedThroughputExceededException',
      'ThrottlingException',
      'RequestLimitExceeded',
      'InternalServerError',
      'ServiceUnavailable',
      'TimeoutError',
    ].includes(e.name)
  ) {
    return true;
  }
  const status = e.$metadata?.httpStatusCode;
  return status === undefined || status >= 500;
}

/**
 * Job events in DynamoDB: `pk = <jobId>#<attempt>`, `seq` as the sort key (see EVENTS_TABLE).
 * Appends are BatchWriteItem puts; a put of the same (pk, seq) replaces an identical item, which
 * is what makes a retried batch harmless.
 */
export class DynamoDbEventStore implements EventStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly retentionSeconds: number | undefined;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly maxTries: number;
  private readonly random: () => number;
  private readonly compress: boolean;

  constructor(options: DynamoDbEventStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    if (options.retentionDays !== undefined && !(options.retentionDays > 0)) {
      throw new RangeError(`retentionDays must be positive, got ${options.retentionDays}`);
    }
    this.retentionSeconds = options.retentionDays === undefined ? undefined : Math.round(options.retentionDays * 86_400);
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.maxTries = options.maxTries ?? 8;
    if (!Number.isInteger(this.maxTries) || this.maxTries < 1) throw new RangeError('maxTries must be a positive integer');
    this.random = options.random ?? Math.random;
    this.compress = options.compressOutput ?? true;
  }

  async append(events: readonly JobEvent[]): Promise<void> {
    // BatchWriteItem rejects a request that names the same key twice; the later copy wins, as a
    // second put would.
    const byKey = new Map<string, Record<string, unknown>>();
    for (const event of events) {
      const plain = eventToItem(event, this.expiresAt(event));
      // Checked uncompressed (the contract every store shares), before anything is sent, so an
      // oversized event never leaves half a batch stored.
      assertWithinItemLimit(plain, `event ${event.jobId}#${event.attempt}/${event.seq}`);
      const item = this.compress ? await compressOutput(event, plain) : plain;
      byKey.set(`${String(item.pk)}/${event.seq}`, item);
    }
    const items = [...byKey.values()];
    for (let i = 0; i < items.length; i += BATCH_WRITE_MAX_ITEMS) {
      await this.writeChunk(items.slice(i, i + BATCH_WRITE_MAX_ITEMS));
    }
  }

  async list(query: ListEventsQuery): Promise<EventPage> {
    const afterSeq = query.afterSeq ?? 0;
    if (!Number.isInteger(query.limit) || query.limit < 1) throw new RangeError(`limit must be a positive integer, got ${query.limit}`);
    if (!Number.isInteger(afterSeq) || afterSeq < 0) throw new RangeError(`afterSeq must be a non-negative integer, got ${afterSeq}`);
    let out;
    try {
      out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk AND #seq > :after',
          ExpressionAttributeNames: { '#pk': 'pk', '#seq': 'seq' },
          ExpressionAttributeValues: { ':pk': eventPartitionKey(query.jobId, query.attempt), ':after': afterSeq },
          // A follower must never see seq n+1 before n: a strongly consistent read sees every
          // acknowledged write, so `next` never skips an event still propagating to a replica.
          ConsistentRead: true,
          ScanIndexForward: true,
          Limit: query.limit,
        }),
      );
    } catch (err) {
      throw dependencyFailure(DEPENDENCY, err);
    }
    return contiguousPage((out.Items ?? []).map((item) => itemToEvent(decompressOutput(item))), afterSeq, out.LastEvaluatedKey !== undefined);
  }

  private expiresAt(event: JobEvent): number | undefined {
    if (this.retentionSeconds === undefined) return undefined;
    // From the event's own time, not the write's: a retried write keeps the same item, byte for byte.
    const ms = Date.parse(event.ts);
    if (Number.isNaN(ms)) throw new RangeError(`event ${event.seq} has an invalid ts: ${event.ts}`);
    return Math.floor(ms / 1000) + this.retentionSeconds;
  }

  /**
   * One BatchWriteItem of at most 25 puts. The call is not atomic: DynamoDB may hand back some
   * puts as UnprocessedItems (throttling); those are sent again after a full-jitter exponential
   * backoff until none remain, and only a bounded number of failed calls turns into a DependencyError.
   */
  private async writeChunk(items: readonly Record<string, unknown>[]): Promise<void> {
    let requests = items.map((Item) => ({ PutRequest: { Item } }));
    try {
      await retry<void>(
        async (tries) => {
          try {
            const out = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
            const unprocessed = out.UnprocessedItems?.[this.tableName] ?? [];
            requests = unprocessed.flatMap((r) => (r.PutRequest?.Item ? [{ PutRequest: { Item: r.PutRequest.Item } }] : []));
            if (requests.length === 0) return { done: true, value: undefined };
            return { done: false, reason: new Error(`${requests.length} of ${items.length} puts left unprocessed after ${tries} calls`) };
          } catch (err) {
            if (!isTransient(err)) throw dependencyFailure(DEPENDENCY, err);
            return { done: false, reason: err };
          }
        },
        { tries: this.maxTries, baseMs: BACKOFF_BASE_MS, capMs: BACKOFF_CAP_MS, sleep: this.sleep, random: this.random },
      );
    } catch (err) {
      throw err instanceof RetriesExhaustedError ? new DependencyError(DEPENDENCY, err.reason) : err;
    }
  }
}
