import {
  BatchGetCommand,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { dependencyFailure, isTransactionCanceled } from '../aws/errors.ts';
import { DependencyError, ValidationError } from '../errors.ts';
import { systemClock, type Clock } from '../ids.ts';
import type { AuditEntryView, AuditLog, AuditPage, ListAuditQuery } from './audit-log.ts';
import { canonicalJson } from './canonical-json.ts';
import {
  AUDIT_ACTIONS,
  emptyHead,
  nextEntry,
  shardOf,
  type AuditEntry,
  type AuditRecord,
  type ChainHead,
  type ChainId,
} from './entry.ts';
import { checkpointShards, toEntry, verifyAuditChains, type ChainItems, type VerifyResult } from './verify.ts';

/** One action of a TransactWriteItems call (document-client form). */
export type TransactionAction = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

type Item = Record<string, unknown>;

/** Shards by default: see specs/04-audit-chain.md, decision 3, for the arithmetic. */
export const DEFAULT_AUDIT_SHARDS = 8;
/** Tries of one audited transaction when the chain head keeps moving under it. */
export const DEFAULT_APPEND_ATTEMPTS = 12;
// An entry's details are capped so an entry costs a couple of write units, whatever is recorded.
export const MAX_DETAILS_BYTES = 16 * 1024;

/** The partition of a chain: its head item at seq 0 and its entries at seq 1, 2, ... */
export function chainKey(chain: ChainId): string {
  return chain === 'root' ? 'ROOT' : `SHARD#${chain}`;
}

/**
 * A business condition of an audited transaction failed: nothing was written, no entry either.
 * `failed` lists the caller's own actions (by index in the `items` it passed) whose condition
 * failed, each with the item as it is now when the action asked for ALL_OLD.
 */
export class TransactionRefusedError extends Error {
  constructor(
    readonly failed: readonly { readonly index: number; readonly item: Item | undefined }[],
    options?: ErrorOptions,
  ) {
    super(`transaction refused by the condition of action(s) ${failed.map((f) => f.index).join(', ')}`, options);
    this.name = 'TransactionRefusedError';
  }

  /** The failure of action `index`, when its condition was one that failed. */
  at(index: number): { readonly index: number; readonly item: Item | undefined } | undefined {
    return this.failed.find((f) => f.index === index);
  }
}

/** What an audited transaction writes: the change (each action with its own condition) and its entry. */
export interface AuditedTransaction {
  readonly items: readonly TransactionAction[];
  readonly record: AuditRecord;
  /** The entry's time: the change's own clock reading, so the two agree. */
  readonly time?: Date;
}

export interface DynamoDbAuditLogOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Shards entries are spread over by target; every writer of one deployment must agree on it. */
  readonly shards?: number;
  readonly clock?: Clock;
  readonly maxAttempts?: number;
  /** Jitter source in [0, 1); injectable for tests. */
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
// Codes in CancellationReasons worth another try: another transaction held one of the items, or
// DynamoDB throttled one of them. Anything else (a validation error) will fail the same way again.
const RETRYABLE_CODES = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded']);

/**
 * The audit chain in DynamoDB (table AUDIT_TABLE). Each shard is one partition, `SHARD#<n>`: a head
 * item at seq 0 (`headSeq`, `headHash`) and the entries at seq 1, 2, ... The root chain (`ROOT`)
 * holds checkpoints of every shard's head.
 *
 * Appending = one TransactWriteItems: the caller's change with its conditions, the entry (Put,
 * `attribute_not_exists`) and the head (Put, conditional on the head still being at the seq the
 * entry extends). When another writer moved the head first, the failed head condition returns the
 * new head (ALL_OLD) and the whole transaction is rebuilt on it and retried, with jittered backoff,
 * up to `maxAttempts`. When one of the caller's own conditions failed, nothing was written and
 * TransactionRefusedError says which, so the caller reports its usual domain error.
 *
 * Within one process, appends to one shard are queued rather than raced (they would only conflict
 * with each other); the last head this process wrote is kept, so an uncontended append is a single
 * call. Across processes the head condition does the arbitration.
 */
export class DynamoDbAuditLog implements AuditLog {
  readonly tableName: string;
  readonly shards: number;
  private readonly client: DynamoDBDocumentClient;
  private readonly clock: Clock;
  private readonly maxAttempts: number;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** The head this process last saw per chain: a guess, verified by the head condition. */
  private readonly heads = new Map<ChainId, ChainHead>();
  /** The tail of the in-process queue of appends per chain. */
  private readonly queues = new Map<ChainId, Promise<unknown>>();

  constructor(options: DynamoDbAuditLogOptions) {
    const shards = options.shards ?? DEFAULT_AUDIT_SHARDS;
    if (!Number.isInteger(shards) || shards < 1 || shards > 256) throw new RangeError(`audit shards must be 1..256, got ${shards}`);
    this.client = options.client;
    this.tableName = options.tableName;
    this.shards = shards;
    this.clock = options.clock ?? systemClock;
    this.maxAttempts = options.maxAttempts ?? DEFAULT_APPEND_ATTEMPTS;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** The shard `target`'s entries go to. */
  shardOf(target: string): number {
    return shardOf(target, this.shards);
  }

  /** The chain's head as stored (strongly consistent read). */
  async readHead(chain: ChainId): Promise<ChainHead> {
    try {
      const out = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { pk: chainKey(chain), seq: 0 }, ConsistentRead: true }),
      );
      return out.Item ? headFromItem(chain, out.Item) : emptyHead(chain);
    } catch (err) {
      throw dependencyFailure('audit log', err);
    }
  }

  /**
   * The two actions that append `record` after `head`: the entry's Put and the head's conditional
   * Put (which returns the current head on failure). Pure; add them to a TransactWriteItems call
   * after your own actions. Action 0 fails only if the head item lags its entries (tampering);
   * action 1 fails when another writer appended first: rebuild on the new head and retry.
   */
  entryActions(record: AuditRecord, head: ChainHead, time: Date = this.clock()): { entry: AuditEntry; actions: TransactionAction[] } {
    checkRecord(record);
    const entry = nextEntry(head, record, time);
    const pk = chainKey(head.chain);
    return {
      entry,
      actions: [
        { Put: { TableName: this.tableName, Item: { pk, ...entry }, ConditionExpression: 'attribute_not_exists(pk)' } },
        {
          Put: {
            TableName: this.tableName,
            Item: { pk, seq: 0, headSeq: entry.seq, headHash: entry.hash },
            ...(head.seq === 0
              ? { ConditionExpression: 'attribute_not_exists(pk)' }
              : { ConditionExpression: 'headSeq = :expected', ExpressionAttributeValues: { ':expected': head.seq } }),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
      ],
    };
  }

  /**
   * The actions appending `record` on the head as this process knows it (read when unknown): for a
   * store that runs its own transaction. If that transaction fails on these actions, call
   * `forgetHead(record.target)` and ask again; `runWithEntry` does all of that for you.
   */
  async actionsFor(record: AuditRecord, time: Date = this.clock()): Promise<TransactionAction[]> {
    const chain = this.shardOf(record.target);
    const head = this.heads.get(chain) ?? (await this.readHead(chain));
    return this.entryActions(record, head, time).actions;
  }

  /** Drops what this process believes is the head of `target`'s shard; the next append reads it. */
  forgetHead(target: string): void {
    this.heads.delete(this.shardOf(target));
  }

  /**
   * For a store that runs its own TransactWriteItems (the API-key store): builds the entry actions
   * on the current head and calls `write(actions)`, which must commit them atomically with its own
   * change. When `write` throws an error `isHeadConflict` recognizes (the entry actions' condition
   * failed: another writer appended first), the head is re-read and `write` is called again with
   * fresh actions, with jittered backoff, up to `maxAttempts`. Any other error passes through.
   *
   * @example
   * await audit.runWithEntry(
   *   { actor: caller.subject, action: 'apikey.revoke', target: `apikey:${id}`, details: {} },
   *   (extraActions) => keys.revoke(id, caller.subject, now, { extraActions }),
   *   (err) => err instanceof ExtraActionConflictError,
   * );
   */
  async runWithEntry<T>(
    record: AuditRecord,
    write: (actions: TransactionAction[], entry: AuditEntry) => Promise<T>,
    isHeadConflict: (err: unknown) => boolean,
    time: Date = this.clock(),
  ): Promise<T> {
    const chain = this.shardOf(record.target);
    return this.queued(chain, async () => {
      for (let attempt = 1; ; attempt++) {
        const head = this.heads.get(chain) ?? (await this.readHead(chain));
        const { entry, actions } = this.entryActions(record, head, time);
        try {
          const result = await write(actions, entry);
          this.heads.set(chain, { chain, seq: entry.seq, hash: entry.hash });
          return result;
        } catch (err) {
          this.heads.delete(chain);
          if (!isHeadConflict(err)) throw err;
          if (attempt >= this.maxAttempts) throw contention(chain, attempt, err);
          await this.sleep(this.backoff(attempt));
        }
      }
    });
  }

  /**
   * Commits `items` and the entry for `record` as one transaction (see the class comment). Returns
   * the entry. Throws TransactionRefusedError when one of `items`' conditions failed (nothing was
   * written), DependencyError when DynamoDB failed or the head stayed contended.
   */
  transact(transaction: AuditedTransaction): Promise<AuditEntry> {
    return this.transactOn(this.shardOf(transaction.record.target), transaction);
  }

  /** An entry recording no other write (a checkpoint; tests and benchmarks). */
  append(record: AuditRecord, time?: Date): Promise<AuditEntry> {
    return this.transact({ items: [], record, ...(time ? { time } : {}) });
  }

  async checkpoint(time: Date = this.clock()): Promise<AuditEntry | null> {
    return this.queued('root', async () => {
      const rootHead = await this.readHead('root');
      const last = rootHead.seq > 0 ? await this.readEntry('root', rootHead.seq) : undefined;
      const previous = last ? checkpointShards(last) : [];
      // Shards a previous checkpoint knew stay recorded even if the shard count was lowered since.
      const ids = shardIds(Math.max(this.shards, ...previous.map((s) => s.shard + 1)));
      const heads = await this.readHeads(ids);
      const shards = heads.map((h) => ({ shard: h.chain as number, seq: h.seq, hash: h.hash }));
      // An idle deployment writes nothing: a checkpoint only when some shard moved.
      if (last && canonicalJson(shards) === canonicalJson(previous)) return null;
      this.heads.set('root', rootHead);
      return this.transactOnChain('root', {
        items: [],
        record: { actor: 'system:checkpoint', action: AUDIT_ACTIONS.checkpoint, target: 'audit:shards', details: { shards } },
        time,
      });
    });
  }

  async list(query: ListAuditQuery): Promise<AuditPage> {
    const chains: ChainId[] = query.shard === undefined ? shardIds(this.shards) : [query.shard];
    const positions = decodePositions(query.after, chains);
    const pages = await Promise.all(
      chains.map(async (chain) => {
        const { items, more } = await this.queryEntries(chain, positions.get(chain) ?? 0, query.limit);
        return { chain, entries: items.flatMap((i) => toView(chain, i)), more };
      }),
    );
    // k-way merge by time; each shard's own order (seq) is kept because each page is in seq order.
    const cursors = pages.map(() => 0);
    const out: AuditEntryView[] = [];
    while (out.length < query.limit) {
      let best = -1;
      for (let p = 0; p < pages.length; p++) {
        const candidate = pages[p]!.entries[cursors[p]!];
        if (!candidate) continue;
        const current = best < 0 ? undefined : pages[best]!.entries[cursors[best]!];
        if (!current || candidate.time < current.time) best = p;
      }
      if (best < 0) break;
      const entry = pages[best]!.entries[cursors[best]!]!;
      cursors[best]!++;
      out.push(entry);
      positions.set(entry.shard, entry.seq);
    }
    const hasMore = pages.some((page, p) => cursors[p]! < page.entries.length || page.more);
    return { entries: out, next: encodePositions(positions), hasMore };
  }

  async verify(): Promise<VerifyResult> {
    const { root, shards } = await this.readAllChains();
    return verifyAuditChains(root, shards);
  }

  /**
   * Every item of the root chain and of every shard that exists or ever existed (the configured
   * shards, plus any a checkpoint recorded), read with strongly consistent queries.
   */
  async readAllChains(): Promise<{ root: ChainItems; shards: ChainItems[] }> {
    const rootItems = await this.readChain('root');
    let count = this.shards;
    for (const item of rootItems) {
      const entry = toEntry(item);
      if (entry) for (const s of checkpointShards(entry)) count = Math.max(count, s.shard + 1);
    }
    const shards = await Promise.all(shardIds(count).map(async (chain) => ({ chain, items: await this.readChain(chain) })));
    return { root: { chain: 'root', items: rootItems }, shards };
  }

  /** Every item of one chain's partition in seq order, the head (seq 0) included. */
  async readChain(chain: ChainId): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Record<string, unknown> | undefined;
    try {
      do {
        const out = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': chainKey(chain) },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        );
        items.push(...(out.Items ?? []));
        startKey = out.LastEvaluatedKey;
      } while (startKey);
    } catch (err) {
      throw dependencyFailure('audit log', err);
    }
    return items;
  }

  private async transactOn(chain: ChainId, transaction: AuditedTransaction): Promise<AuditEntry> {
    return this.queued(chain, () => this.transactOnChain(chain, transaction));
  }

  /** The append loop; the caller holds the chain's in-process queue. */
  private async transactOnChain(chain: ChainId, transaction: AuditedTransaction): Promise<AuditEntry> {
    const { items, record } = transaction;
    const time = transaction.time ?? this.clock();
    for (let attempt = 1; ; attempt++) {
      const head = this.heads.get(chain) ?? (await this.readHead(chain));
      const { entry, actions } = this.entryActions(record, head, time);
      try {
        await this.client.send(new TransactWriteCommand({ TransactItems: [...items, ...actions] }));
        this.heads.set(chain, { chain, seq: entry.seq, hash: entry.hash });
        return entry;
      } catch (err) {
        this.heads.delete(chain);
        if (!isTransactionCanceled(err)) throw dependencyFailure('audit log', err);
        const reasons = err.CancellationReasons ?? [];
        const refused = reasons
          .slice(0, items.length)
          .map((r, index) => ({ index, code: r.Code, item: r.Item ? unmarshall(r.Item as Record<string, AttributeValue>) : undefined }))
          .filter((r) => r.code === 'ConditionalCheckFailed');
        // The change itself is not applicable: that is the caller's answer, whatever the head did.
        if (refused.length > 0) throw new TransactionRefusedError(refused.map(({ index, item }) => ({ index, item })), { cause: err });
        const entryReason = reasons[items.length];
        const headReason = reasons[items.length + 1];
        if (headReason?.Code === 'ConditionalCheckFailed') {
          if (headReason.Item) this.heads.set(chain, headFromItem(chain, unmarshall(headReason.Item as Record<string, AttributeValue>)));
        } else if (entryReason?.Code === 'ConditionalCheckFailed') {
          // The head accepted the append but the entry's seq is taken: the head was moved back.
          throw new DependencyError('audit log', new Error(`audit chain ${chainKey(chain)}: head item is behind its entries; run audit verify`));
        } else if (!reasons.some((r) => r.Code !== undefined && RETRYABLE_CODES.has(r.Code))) {
          throw dependencyFailure('audit log', err);
        }
        if (attempt >= this.maxAttempts) throw contention(chain, attempt, err);
        await this.sleep(this.backoff(attempt));
      }
    }
  }

  /** Runs `fn` after every earlier append to `chain` from this process has settled. */
  private queued<T>(chain: ChainId, fn: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(chain) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(chain, settled);
    void settled.then(() => {
      if (this.queues.get(chain) === settled) this.queues.delete(chain);
    });
    return run;
  }

  /** Full jitter, from about 2 ms up to 200 ms: DynamoDB transactions take a few ms, so a short wait suffices. */
  private backoff(attempt: number): number {
    return this.random() * Math.min(200, 2 * 2 ** attempt);
  }

  private async readEntry(chain: ChainId, seq: number): Promise<AuditEntry | undefined> {
    try {
      const out = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { pk: chainKey(chain), seq }, ConsistentRead: true }),
      );
      return out.Item ? toEntry(out.Item) : undefined;
    } catch (err) {
      throw dependencyFailure('audit log', err);
    }
  }

  /** The heads of `chains`, strongly consistent, 100 keys per BatchGetItem. */
  private async readHeads(chains: readonly number[]): Promise<ChainHead[]> {
    const found = new Map<string, Item>();
    try {
      for (let i = 0; i < chains.length; i += 100) {
        let keys: Item[] = chains.slice(i, i + 100).map((c) => ({ pk: chainKey(c), seq: 0 }));
        for (let round = 0; keys.length > 0; round++) {
          if (round > 0) {
            if (round > 8) throw new Error('BatchGetItem kept returning unprocessed keys');
            await this.sleep(this.backoff(round));
          }
          const out = await this.client.send(
            new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
          );
          for (const item of out.Responses?.[this.tableName] ?? []) found.set(item.pk as string, item);
          keys = (out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Item[];
        }
      }
    } catch (err) {
      throw dependencyFailure('audit log', err);
    }
    return chains.map((c) => {
      const item = found.get(chainKey(c));
      return item ? headFromItem(c, item) : emptyHead(c);
    });
  }

  /** Up to `limit` entries after `after`, and whether more were stored. */
  private async queryEntries(chain: ChainId, after: number, limit: number): Promise<{ items: Item[]; more: boolean }> {
    try {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND seq > :after',
          ExpressionAttributeValues: { ':pk': chainKey(chain), ':after': after },
          Limit: limit,
        }),
      );
      return { items: out.Items ?? [], more: out.LastEvaluatedKey !== undefined };
    } catch (err) {
      throw dependencyFailure('audit log', err);
    }
  }
}

function shardIds(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

function headFromItem(chain: ChainId, item: Item): ChainHead {
  const seq = item.headSeq;
  const hash = item.headHash;
  if (typeof seq !== 'number' || typeof hash !== 'string') {
    throw new DependencyError('audit log', new Error(`audit chain ${chainKey(chain)}: malformed head item`));
  }
  return { chain, seq, hash };
}

function toView(chain: ChainId, item: Item): AuditEntryView[] {
  const entry = toEntry(item);
  return entry ? [{ ...entry, shard: chain }] : [];
}

function contention(chain: ChainId, attempts: number, cause: unknown): DependencyError {
  return new DependencyError('audit log', new Error(`audit chain ${chainKey(chain)} stayed contended after ${attempts} tries`, { cause }));
}

/** Fails fast, before anything is written, on a record that could not be hashed or would bloat the chain. */
function checkRecord(record: AuditRecord): void {
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
function assertRoundTrips(value: unknown, path: string): void {
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
function encodePositions(positions: ReadonlyMap<ChainId, number>): string {
  const p = Object.fromEntries([...positions].filter(([, seq]) => seq > 0).map(([chain, seq]) => [String(chain), seq]));
  return Buffer.from(JSON.stringify({ v: CURSOR_VERSION, p }), 'utf8').toString('base64url');
}

function decodePositions(cursor: string | undefined, chains: readonly ChainId[]): Map<ChainId, number> {
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
