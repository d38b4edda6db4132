import { BatchGetCommand, GetCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dependencyFailure, isTransactionCanceled } from '../aws/errors.ts';
import { DomainError, ValidationError } from '../errors.ts';
import { API_KEY_ID_PATTERN } from './api-key.ts';
import type { ApiKeyPage, ApiKeyRecord, ApiKeyStore, ApiKeySummary, KeyWriteOptions, TransactionAction } from './api-key-store.ts';
import { isRole } from './caller.ts';
import { retry, RetriesExhaustedError, type TryOutcome } from '../retry.ts';
import { ApiKeyLimitError, ApiKeyNotFoundError, ExtraActionConflictError } from './errors.ts';

/**
 * API keys in the jobs table:
 * - `pk = APIKEY#<id>`: one item per key (id, name, hash, role, groups, createdBy, createdAt and,
 *   when set, expiresAt, revokedAt, revokedBy). Verification is a GetItem on it.
 * - `pk = APIKEY_INDEX`: a string set `ids` of every key id, added to in the key's own transaction.
 *   Listing reads it and then the page's items (BatchGetItem), so keys need no GSI and listing never
 *   scans the jobs. A string set of 26-byte ids stays far below the 400 KB item limit at
 *   MAX_API_KEYS (specs/08-auth.md, decision 4).
 */
export const MAX_API_KEYS = 10_000;
const INDEX_KEY = { pk: 'APIKEY_INDEX' };
const keyOf = (id: string) => ({ pk: `APIKEY#${id}` });
// BatchGetItem takes at most 100 keys per call.
const MAX_PAGE = 100;
const SUMMARY_ATTRIBUTES = ['id', 'name', 'role', 'groups', 'createdBy', 'createdAt', 'expiresAt', 'revokedAt', 'revokedBy'];

type Item = Record<string, unknown>;

function recordToItem(record: ApiKeyRecord): Item {
  return {
    ...keyOf(record.id),
    id: record.id,
    name: record.name,
    hash: record.hash,
    role: record.role,
    groups: [...record.groups],
    createdBy: record.createdBy,
    createdAt: record.createdAt,
    // Absent rather than null, so conditions can test attribute_not_exists. The table's TTL reads
    // `expiresAt` only when it is a number: an ISO string here never deletes the key item.
    ...(record.expiresAt ? { expiresAt: record.expiresAt } : {}),
    ...(record.revokedAt ? { revokedAt: record.revokedAt } : {}),
    ...(record.revokedBy ? { revokedBy: record.revokedBy } : {}),
  };
}

function itemToSummary(item: Item): ApiKeySummary {
  const role = item.role;
  return {
    id: String(item.id),
    name: String(item.name),
    // An item written by a future version with a new role reads as the least privileged one.
    role: isRole(role) ? role : 'viewer',
    groups: Array.isArray(item.groups) ? item.groups.map(String) : [],
    createdBy: String(item.createdBy),
    createdAt: String(item.createdAt),
    expiresAt: typeof item.expiresAt === 'string' ? item.expiresAt : null,
    revokedAt: typeof item.revokedAt === 'string' ? item.revokedAt : null,
    revokedBy: typeof item.revokedBy === 'string' ? item.revokedBy : null,
  };
}

export interface DynamoDbApiKeyStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Back-off between BatchGetItem retries of unprocessed keys. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export class DynamoDbApiKeyStore implements ApiKeyStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: DynamoDbApiKeyStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async create(record: ApiKeyRecord, options: KeyWriteOptions = {}): Promise<void> {
    if (!(await this.createIfAbsent(record, options))) {
      // Ids are fresh ULIDs: a collision means a caller reused one.
      throw dependencyFailure('api key store', new Error(`API key id ${record.id} already exists`));
    }
  }

  async createIfAbsent(record: ApiKeyRecord, options: KeyWriteOptions = {}): Promise<boolean> {
    const own: TransactionAction[] = [
      { Put: { TableName: this.tableName, Item: recordToItem(record), ConditionExpression: 'attribute_not_exists(pk)' } },
      {
        Update: {
          TableName: this.tableName,
          Key: INDEX_KEY,
          UpdateExpression: 'ADD #ids :id',
          ConditionExpression: 'attribute_not_exists(#ids) OR size(#ids) < :max',
          ExpressionAttributeNames: { '#ids': 'ids' },
          ExpressionAttributeValues: { ':id': new Set([record.id]), ':max': MAX_API_KEYS },
        },
      },
    ];
    try {
      await this.transact(own, options);
      return true;
    } catch (err) {
      if (!isTransactionCanceled(err)) throw err;
      const [keyReason, indexReason] = err.CancellationReasons ?? [];
      if (keyReason?.Code === 'ConditionalCheckFailed') return false;
      if (indexReason?.Code === 'ConditionalCheckFailed') throw new ApiKeyLimitError(MAX_API_KEYS);
      throw this.translateCancellation(err, own.length);
    }
  }

  async get(id: string): Promise<ApiKeyRecord | undefined> {
    if (!API_KEY_ID_PATTERN.test(id)) return undefined;
    let item: Item | undefined;
    try {
      item = (await this.client.send(new GetCommand({ TableName: this.tableName, Key: keyOf(id), ConsistentRead: true }))).Item;
    } catch (err) {
      throw dependencyFailure('api key store', err);
    }
    if (!item || typeof item.hash !== 'string') return undefined;
    return { ...itemToSummary(item), hash: item.hash };
  }

  async list(limit: number, cursor?: string): Promise<ApiKeyPage> {
    if (cursor !== undefined && !API_KEY_ID_PATTERN.test(cursor)) {
      throw new ValidationError('invalid cursor', [{ path: 'cursor', message: 'not a cursor this endpoint issued' }]);
    }
    const pageSize = Math.max(1, Math.min(limit, MAX_PAGE));
    let ids: string[];
    try {
      const index = await this.client.send(new GetCommand({ TableName: this.tableName, Key: INDEX_KEY, ConsistentRead: true }));
      ids = index.Item?.ids instanceof Set ? [...(index.Item.ids as Set<string>)] : [];
    } catch (err) {
      throw dependencyFailure('api key store', err);
    }
    // ULIDs sort by creation time: newest first is descending order.
    ids.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    const remaining = cursor === undefined ? ids : ids.filter((id) => id < cursor);
    const page = remaining.slice(0, pageSize);
    const items = await this.batchGet(page);
    items.sort((a, b) => (a.id < b.id ? 1 : -1));
    return { items, nextCursor: remaining.length > page.length ? page[page.length - 1]! : null };
  }

  async revoke(id: string, actor: string, now: Date, options: KeyWriteOptions = {}): Promise<ApiKeySummary> {
    if (!API_KEY_ID_PATTERN.test(id)) throw new ApiKeyNotFoundError(id);
    const own: TransactionAction[] = [
      {
        Update: {
          TableName: this.tableName,
          Key: keyOf(id),
          UpdateExpression: 'SET revokedAt = :now, revokedBy = :actor',
          // Revoked once: a second revocation must not move the time or the actor.
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
          ExpressionAttributeValues: { ':now': now.toISOString(), ':actor': actor },
        },
      },
    ];
    try {
      await this.transact(own, options);
    } catch (err) {
      if (!isTransactionCanceled(err) || err.CancellationReasons?.[0]?.Code !== 'ConditionalCheckFailed') {
        throw isTransactionCanceled(err) ? this.translateCancellation(err, own.length) : err;
      }
    }
    const record = await this.get(id);
    if (!record) throw new ApiKeyNotFoundError(id);
    const { hash: _hash, ...summary } = record;
    return summary;
  }

  /** Runs the store's own actions plus any extra ones as one transaction. */
  private async transact(own: TransactionAction[], options: KeyWriteOptions): Promise<void> {
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: [...own, ...(options.extraActions ?? [])] }));
    } catch (err) {
      if (isTransactionCanceled(err) || err instanceof DomainError) throw err;
      throw dependencyFailure('api key store', err);
    }
  }

  /** A cancellation not caused by the store's own conditions: an extra action's, or a conflict. */
  private translateCancellation(
    err: Error & { CancellationReasons?: { Code?: string }[] },
    ownCount: number,
  ): Error {
    const reasons = err.CancellationReasons ?? [];
    const failed = reasons.findIndex((r, i) => i >= ownCount && r.Code === 'ConditionalCheckFailed');
    if (failed >= 0) return new ExtraActionConflictError(failed - ownCount, err);
    return dependencyFailure('api key store', err);
  }

  private async batchGet(ids: readonly string[]): Promise<ApiKeySummary[]> {
    if (ids.length === 0) return [];
    const names = Object.fromEntries(SUMMARY_ATTRIBUTES.map((a, i) => [`#a${i}`, a]));
    let keys: Item[] = ids.map(keyOf);
    const found: ApiKeySummary[] = [];
    const step = async (): Promise<TryOutcome<ApiKeySummary[]>> => {
      try {
        const result = await this.client.send(
          new BatchGetCommand({
            RequestItems: {
              [this.tableName]: {
                Keys: keys,
                ConsistentRead: true,
                ProjectionExpression: Object.keys(names).join(', '),
                ExpressionAttributeNames: names,
              },
            },
          }),
        );
        for (const item of result.Responses?.[this.tableName] ?? []) found.push(itemToSummary(item));
        keys = (result.UnprocessedKeys?.[this.tableName]?.Keys as Item[] | undefined) ?? [];
      } catch (err) {
        throw dependencyFailure('api key store', err);
      }
      return keys.length === 0 ? { done: true, value: found } : { done: false, reason: new Error('BatchGetItem kept returning unprocessed keys') };
    };
    try {
      return await retry(step, { tries: 6, baseMs: 100, capMs: 1_000, sleep: this.sleep });
    } catch (err) {
      throw err instanceof RetriesExhaustedError ? dependencyFailure('api key store', err.reason) : err;
    }
  }
}
