import {
  BatchGetCommand,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { dependencyFailure, isTransactionCanceled } from '../aws/errors.ts';
import { systemClock, type Clock } from '../ids.ts';
import { retry } from '../retry.ts';
import type { AuditEntryView, AuditLog, AuditPage, ListAuditQuery } from './audit-log.ts';
import { canonicalJson } from './canonical-json.ts';
import {
  AUDIT_ACTIONS,
  emptyHead,
  nextEntry,
  type AuditEntry,
  type AuditRecord,
  type ChainHead,
  type ChainId,
} from './entry.ts';
import { checkpointShards, toEntry, verifyAuditChains, type ChainItems, type VerifyResult } from './verify.ts';
import {
  approximateBytes,
  AuditRecordError,
  chainKey,
  checkRecord,
  contention,
  decodePositions,
  encodePositions,
  headFromItem,
  itemIdentity,
  MAX_DETAILS_BYTES,
  shardIds,
  toView,
  type Item,
  type TransactionAction,
} from './audit-items.ts';

export { AuditRecordError, chainKey, MAX_DETAILS_BYTES, type TransactionAction };

/**
 * Shards (chains) by default. Each writing process appends to one shard of its own, picked at
 * random and kept while nobody else writes to it, so the count bounds how many processes can write
 * at once without meeting: 64 leaves room for tens of concurrently writing Lambdas and workers.
 * See specs/04-audit-chain.md, decisions 3 and 4.
 */
export const DEFAULT_AUDIT_SHARDS = 64;
/** At most this many shards: a checkpoint records every non-empty one in one entry. */
export const MAX_AUDIT_SHARDS = 128;
/** Tries of one append when the chain head keeps moving under it (each try on a fresh shard). */
export const DEFAULT_APPEND_ATTEMPTS = 12;
// TransactWriteItems takes 100 actions and 4 MB; a batch stays below both with room to spare
// for the head action and for our size estimate being an estimate.
const MAX_BATCH_ACTIONS = 100;
const MAX_BATCH_BYTES = 3 * 1024 * 1024;


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
  /** Shards entries are spread over; every process of one deployment must use the same count. */
  readonly shards?: number;
  readonly clock?: Clock;
  readonly maxAttempts?: number;
  /** Random source in [0, 1) for shard picks and jitter; injectable for tests. */
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Told how long each committed append transaction took, ms (the AuditAppendLatency metric). */
  readonly onAppendCommitted?: (ms: number) => void;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
// Codes in CancellationReasons worth another try: another transaction held one of the items, or
// DynamoDB throttled one of them. Anything else (a validation error) will fail the same way again.
const RETRYABLE_CODES = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded']);

/** One append waiting for this process's next transaction. */
interface Pending {
  readonly items: readonly TransactionAction[];
  readonly record: AuditRecord;
  readonly time: Date;
  readonly resolve: (entry: AuditEntry) => void;
  readonly reject: (err: unknown) => void;
  /** Approximate bytes of its actions, for the 4 MB transaction limit. */
  readonly bytes: number;
  /** Identities of the items its actions touch: one transaction may touch an item once. */
  readonly keys: readonly string[];
}

interface Cancellation {
  readonly kind: 'fail' | 'lost-shard' | 'retry';
  /** Members whose own conditions failed, by position in the batch, with the items found. */
  readonly refused: Map<number, { index: number; item: Item | undefined }[]>;
}

/** A write run by another store (runWithEntry) while this process's shard is held for it. */
interface External {
  readonly run: () => Promise<void>;
}

/**
 * The audit chain in DynamoDB (table AUDIT_TABLE). Each shard is one partition, `SHARD#<n>`: a head
 * item at seq 0 (`headSeq`, `headHash`) and the entries at seq 1, 2, ... The root chain (`ROOT`)
 * holds checkpoints of every shard's head.
 *
 * Appending = one TransactWriteItems: the callers' changes with their conditions, one entry Put
 * per change (`attribute_not_exists`) and the head Put, conditional on the head still being at the
 * seq the first entry extends. Concurrency:
 * - Across processes: each process writes to one shard of its own, picked at random and kept while
 *   its head condition holds. When it fails, another process is writing there: this one moves to
 *   another random shard and retries at once, so writers spread themselves out instead of taking
 *   turns on one head. Nothing is written by a failed try.
 * - Within a process: appends queue for the process's shard, and all that queued while one
 *   transaction was in flight go together in the next (group commit, up to 100 actions / 3 MB, never
 *   two actions on one item). A change whose own condition fails is answered with
 *   TransactionRefusedError and the others are retried without it.
 * The head this process last wrote is kept, so an uncontended append is one call, no read.
 */
export class DynamoDbAuditLog implements AuditLog {
  readonly tableName: string;
  readonly shards: number;
  private readonly client: DynamoDBDocumentClient;
  private readonly clock: Clock;
  private readonly maxAttempts: number;
  private readonly onAppendCommitted: ((ms: number) => void) | undefined;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** The heads this process last saw: a guess, verified by the head condition. */
  private readonly heads = new Map<ChainId, ChainHead>();
  /** The shard this process writes to; picked on first use and after losing it. */
  private shard: number | undefined;
  private readonly pending: (Pending | External)[] = [];
  private flushing = false;
  /** Serializes the root chain's writers (checkpoints) in this process. */
  private rootQueue: Promise<unknown> = Promise.resolve();

  constructor(options: DynamoDbAuditLogOptions) {
    const shards = options.shards ?? DEFAULT_AUDIT_SHARDS;
    if (!Number.isInteger(shards) || shards < 1 || shards > MAX_AUDIT_SHARDS) {
      throw new RangeError(`audit shards must be 1..${MAX_AUDIT_SHARDS}, got ${shards}`);
    }
    this.client = options.client;
    this.tableName = options.tableName;
    this.shards = shards;
    this.clock = options.clock ?? systemClock;
    this.maxAttempts = options.maxAttempts ?? DEFAULT_APPEND_ATTEMPTS;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? defaultSleep;
    this.onAppendCommitted = options.onAppendCommitted;
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
   * after your own actions. If the call is cancelled on either, another writer appended first (or
   * the head was tampered with): read a head again and rebuild. `runWithEntry` does that for you.
   */
  entryActions(record: AuditRecord, head: ChainHead, time: Date = this.clock()): { entry: AuditEntry; actions: TransactionAction[] } {
    checkRecord(record);
    const entry = nextEntry(head, record, time);
    return { entry, actions: [this.entryPut(head.chain, entry), this.headPut(head, entry)] };
  }

  /**
   * For a store that runs its own TransactWriteItems (the API-key store): holds this process's
   * shard, builds the entry actions on its head and calls `write(actions)`, which must commit them
   * atomically with its own change. When `write` throws an error `isHeadConflict` recognizes (the
   * entry actions' condition failed: another writer appended first), it is called again with fresh
   * actions on another shard, with jittered backoff, up to `maxAttempts`. Other errors pass through.
   *
   * @example
   * await audit.runWithEntry(
   *   { actor: caller.subject, action: 'apikey.revoke', target: `apikey:${id}`, details: {} },
   *   (extraActions) => keys.revoke(id, caller.subject, now, { extraActions }),
   *   (err) => err instanceof ExtraActionConflictError,
   * );
   */
  runWithEntry<T>(
    record: AuditRecord,
    write: (actions: TransactionAction[], entry: AuditEntry) => Promise<T>,
    isHeadConflict: (err: unknown) => boolean,
    time: Date = this.clock(),
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      checkRecord(record);
      const run = async () => {
        for (let attempt = 1; ; attempt++) {
          const head = await this.currentHead();
          const { entry, actions } = this.entryActions(record, head, time);
          try {
            const result = await write(actions, entry);
            this.heads.set(head.chain, { chain: head.chain, seq: entry.seq, hash: entry.hash });
            resolve(result);
            return;
          } catch (err) {
            // The other store's write may or may not have gone through: read the head next time.
            this.heads.delete(head.chain);
            if (!isHeadConflict(err)) {
              reject(err);
              return;
            }
            this.leaveShard(head.chain);
            if (attempt >= this.maxAttempts) {
              reject(contention(head.chain, attempt, err));
              return;
            }
            await this.sleep(this.backoff(attempt));
          }
        }
      };
      this.enqueue({ run: () => run().catch(reject) });
    });
  }

  /**
   * Commits `items` and the entry for `record` atomically (see the class comment). Returns the
   * entry. Throws TransactionRefusedError when one of `items`' conditions failed (nothing of this
   * change was written), DependencyError when DynamoDB failed or shards stayed contended.
   */
  transact(transaction: AuditedTransaction): Promise<AuditEntry> {
    const time = transaction.time ?? this.clock();
    return new Promise<AuditEntry>((resolve, reject) => {
      checkRecord(transaction.record);
      this.enqueue({
        items: transaction.items,
        record: transaction.record,
        time,
        resolve,
        reject,
        bytes: transaction.items.reduce((n, a) => n + approximateBytes(a), 0) + approximateBytes(transaction.record) + 512,
        keys: transaction.items.map(itemIdentity),
      });
    });
  }

  /** An entry recording no other write (tests and benchmarks; real changes use transact). */
  append(record: AuditRecord, time?: Date): Promise<AuditEntry> {
    return this.transact({ items: [], record, ...(time ? { time } : {}) });
  }

  async checkpoint(time: Date = this.clock()): Promise<AuditEntry | null> {
    const run = this.rootQueue.then(() => this.writeCheckpoint(time));
    this.rootQueue = run.catch(() => undefined);
    return run;
  }

  async list(query: ListAuditQuery): Promise<AuditPage> {
    const chains: ChainId[] = query.shard === undefined ? shardIds(this.shards) : [query.shard];
    const positions = decodePositions(query.after, chains);
    // Every chain is read in small chunks and refilled only when the merge reaches its end, so a
    // page costs about one query per chain, not `limit` items from each.
    const chunk = Math.min(query.limit, Math.ceil(query.limit / chains.length) + 1);
    const buffers = await Promise.all(
      chains.map(async (chain) => ({ chain, ...(await this.queryEntries(chain, positions.get(chain) ?? 0, chunk)), next: 0 })),
    );
    const out: AuditEntryView[] = [];
    while (out.length < query.limit) {
      for (const b of buffers) {
        if (b.next >= b.entries.length && b.more) {
          const last = b.entries.at(-1)?.seq ?? positions.get(b.chain) ?? 0;
          Object.assign(b, await this.queryEntries(b.chain, last, chunk), { next: 0 });
        }
      }
      let best: (typeof buffers)[number] | undefined;
      for (const b of buffers) {
        const candidate = b.entries[b.next];
        if (candidate && (!best || candidate.time < best.entries[best.next]!.time)) best = b;
      }
      if (!best) break;
      const entry = best.entries[best.next++]!;
      out.push(entry);
      positions.set(entry.shard, entry.seq);
    }
    const hasMore = buffers.some((b) => b.next < b.entries.length || b.more);
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

  private entryPut(chain: ChainId, entry: AuditEntry): TransactionAction {
    return { Put: { TableName: this.tableName, Item: { pk: chainKey(chain), ...entry }, ConditionExpression: 'attribute_not_exists(pk)' } };
  }

  private headPut(head: ChainHead, last: AuditEntry): TransactionAction {
    return {
      Put: {
        TableName: this.tableName,
        Item: { pk: chainKey(head.chain), seq: 0, headSeq: last.seq, headHash: last.hash },
        ...(head.seq === 0
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : { ConditionExpression: 'headSeq = :expected', ExpressionAttributeValues: { ':expected': head.seq } }),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
  }

  private enqueue(work: Pending | External): void {
    this.pending.push(work);
    if (this.flushing) return;
    this.flushing = true;
    void this.flush();
  }

  /** Runs queued work until none is left: one transaction (or one external write) at a time. */
  private async flush(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const first = this.pending[0]!;
        if ('run' in first) {
          this.pending.shift();
          await first.run();
          continue;
        }
        await this.commit(this.takeBatch());
      }
    } finally {
      this.flushing = false;
    }
  }

  /** The longest prefix of the queue that fits one transaction. */
  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    const keys = new Set<string>();
    let actions = 1;
    let bytes = 0;
    while (this.pending.length > 0) {
      const next = this.pending[0]!;
      if ('run' in next) break;
      const size = next.items.length + 1;
      if (batch.length > 0 && (actions + size > MAX_BATCH_ACTIONS || bytes + next.bytes > MAX_BATCH_BYTES || next.keys.some((k) => keys.has(k)))) {
        break;
      }
      this.pending.shift();
      batch.push(next);
      next.keys.forEach((k) => keys.add(k));
      actions += size;
      bytes += next.bytes;
    }
    return batch;
  }

  /** Writes `batch` (changes, their entries, the head) as one transaction; settles every member. */
  private async commit(batch: Pending[]): Promise<void> {
    let live = batch;
    for (let attempt = 1; live.length > 0; attempt++) {
      let head: ChainHead;
      try {
        head = await this.currentHead();
      } catch (err) {
        live.forEach((p) => p.reject(err));
        return;
      }
      const entries: AuditEntry[] = [];
      const actions: TransactionAction[] = [];
      const owner: { pending: number; own: number | 'entry' }[] = [];
      let tail = head;
      live.forEach((p, i) => {
        const entry = nextEntry(tail, p.record, p.time);
        tail = { chain: head.chain, seq: entry.seq, hash: entry.hash };
        entries.push(entry);
        p.items.forEach((item, own) => {
          actions.push(item);
          owner.push({ pending: i, own });
        });
        actions.push(this.entryPut(head.chain, entry));
        owner.push({ pending: i, own: 'entry' });
      });
      actions.push(this.headPut(head, entries.at(-1)!));
      try {
        const sent = performance.now();
        await this.client.send(new TransactWriteCommand({ TransactItems: actions }));
        this.onAppendCommitted?.(performance.now() - sent);
        this.heads.set(head.chain, tail);
        live.forEach((p, i) => p.resolve(entries[i]!));
        return;
      } catch (err) {
        const outcome = this.cancellation(err, owner);
        if (outcome.kind === 'fail') {
          // DynamoDB refused the call without applying it (a validation error: an item too large,
          // say): each member alone gets its own answer. Anything else (a timeout) may have been
          // applied, so it is reported, never re-sent in another shape.
          const notApplied = isTransactionCanceled(err) || (err instanceof Error && err.name === 'ValidationException');
          if (live.length > 1 && notApplied) {
            for (const p of live) await this.commit([p]);
          } else {
            // Perhaps written: the head is unknown until read again.
            if (!notApplied) this.heads.delete(head.chain);
            const error = dependencyFailure('audit log', err);
            live.forEach((p) => p.reject(error));
          }
          return;
        }
        if (outcome.refused.size > 0) {
          // Their changes do not apply. Nothing was written, so the others go again at once.
          for (const [i, failed] of outcome.refused) live[i]!.reject(new TransactionRefusedError(failed, { cause: err }));
          live = live.filter((_, i) => !outcome.refused.has(i));
        }
        if (outcome.kind === 'lost-shard') {
          this.leaveShard(head.chain);
        } else if (outcome.refused.size > 0) {
          continue;
        }
        if (attempt >= this.maxAttempts) {
          const error = contention(head.chain, attempt, err);
          live.forEach((p) => p.reject(error));
          return;
        }
        // The first move to a fresh shard needs no wait; a conflict or throttling, or a second
        // lost shard in a row, does.
        await this.sleep(attempt === 1 && outcome.kind === 'lost-shard' ? 0 : this.backoff(attempt));
      }
    }
  }

  /**
   * What a failed transaction means for the batch that sent it: which members' own conditions
   * failed (refused), and whether to move to another shard, retry in place, or give up.
   */
  private cancellation(err: unknown, owner: readonly { pending: number; own: number | 'entry' }[]): Cancellation {
    const refused = new Map<number, { index: number; item: Item | undefined }[]>();
    if (!isTransactionCanceled(err)) return { kind: 'fail', refused };
    const reasons = err.CancellationReasons ?? [];
    let entryFailed = false;
    reasons.forEach((reason, index) => {
      if (reason.Code !== 'ConditionalCheckFailed') return;
      const who = owner[index];
      if (!who) return;
      if (who.own === 'entry') {
        entryFailed = true;
        return;
      }
      const item = reason.Item ? unmarshall(reason.Item as Record<string, AttributeValue>) : undefined;
      refused.set(who.pending, [...(refused.get(who.pending) ?? []), { index: who.own, item }]);
    });
    const headReason = reasons[owner.length];
    // Another writer on this shard (head moved), or a head behind its entries (tampered): move on.
    if (headReason?.Code === 'ConditionalCheckFailed' || entryFailed) return { kind: 'lost-shard', refused };
    if (refused.size > 0 || reasons.some((r) => r.Code !== undefined && RETRYABLE_CODES.has(r.Code))) return { kind: 'retry', refused };
    return { kind: 'fail', refused };
  }

  /** This process's shard and its head (read once, then kept). */
  private async currentHead(): Promise<ChainHead> {
    this.shard ??= Math.floor(this.random() * this.shards);
    const known = this.heads.get(this.shard);
    if (known) return known;
    const head = await this.readHead(this.shard);
    this.heads.set(this.shard, head);
    return head;
  }

  /** Someone else writes to `chain`: forget it and pick another shard at random. */
  private leaveShard(chain: ChainId): void {
    this.heads.delete(chain);
    if (this.shard !== chain || this.shards === 1) return;
    const other = Math.floor(this.random() * (this.shards - 1));
    this.shard = other >= chain ? other + 1 : other;
  }

  private async writeCheckpoint(time: Date): Promise<AuditEntry | null> {
    const rootHead = await this.readHead('root');
    const last = rootHead.seq > 0 ? await this.readEntry('root', rootHead.seq) : undefined;
    const previous = last ? checkpointShards(last) : [];
    // Shards a previous checkpoint knew stay covered even if the shard count was lowered since.
    const ids = shardIds(Math.max(this.shards, ...previous.map((s) => s.shard + 1)));
    const heads = await this.readHeads(ids);
    // Empty shards have nothing to protect; leaving them out keeps the entry small.
    const shards = heads.filter((h) => h.seq > 0).map((h) => ({ shard: h.chain as number, seq: h.seq, hash: h.hash }));
    // An idle deployment writes nothing: a checkpoint only when some shard moved.
    if (shards.length === 0 || (last && canonicalJson(shards) === canonicalJson(previous))) return null;
    const record: AuditRecord = { actor: 'system:checkpoint', action: AUDIT_ACTIONS.checkpoint, target: 'audit:shards', details: { shards } };
    const { entry, actions } = this.entryActions(record, rootHead, time);
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: actions }));
    } catch (err) {
      // Another checkpointer got there first: its checkpoint is as good as this one.
      if (isTransactionCanceled(err) && err.CancellationReasons?.some((r) => r.Code === 'ConditionalCheckFailed')) return null;
      throw dependencyFailure('audit log', err);
    }
    return entry;
  }

  /** Full jitter up to 2^attempt ms, at most 100 ms: transactions take a few ms. */
  private backoff(attempt: number): number {
    return this.random() * Math.min(100, 2 ** attempt);
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
        await retry<void>(
          async () => {
            const out = await this.client.send(
              new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
            );
            for (const item of out.Responses?.[this.tableName] ?? []) found.set(item.pk as string, item);
            keys = (out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Item[];
            return keys.length === 0 ? { done: true, value: undefined } : { done: false, reason: new Error('BatchGetItem kept returning unprocessed keys') };
          },
          { tries: 9, baseMs: 2, capMs: 100, sleep: this.sleep, random: this.random },
        );
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
  private async queryEntries(chain: ChainId, after: number, limit: number): Promise<{ entries: AuditEntryView[]; more: boolean }> {
    try {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND seq > :after',
          ExpressionAttributeValues: { ':pk': chainKey(chain), ':after': after },
          Limit: limit,
        }),
      );
      return { entries: (out.Items ?? []).flatMap((i) => toView(chain, i)), more: out.LastEvaluatedKey !== undefined };
    } catch (err) {
      throw dependencyFailure('audit log', err);
    }
  }
}

