import { BatchGetCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TransactionRefusedError, type DynamoDbAuditLog, type TransactionAction } from '../audit/dynamodb-audit-log.ts';
import { AUDIT_ACTIONS } from '../audit/entry.ts';
import { dependencyFailure } from '../aws/errors.ts';
import { DomainError } from '../errors.ts';
import { retry, RetriesExhaustedError, type TryOutcome } from '../retry.ts';
import type { GroupSchedulingState, GroupStates } from '../scheduling/group-states.ts';
import { decayedUsage, usageBuckets } from './decayed-usage.ts';
import {
  applySettingsChange,
  defaultGroupRecord,
  type GroupRecord,
  type GroupSettings,
  type GroupSettingsChange,
  type GroupView,
} from './group.ts';

type Item = Record<string, unknown>;

/** The key of a group's item in the jobs table. */
export function groupKey(name: string): { pk: string } {
  return { pk: `GROUP#${name}` };
}

/** The item listing every group name (a string set), so listing never scans the jobs table. */
const INDEX_KEY = { pk: 'GROUP_INDEX' };
/** BatchGetItem reads at most 100 keys per call. */
const BATCH_GET_LIMIT = 100;
/** Settings changes racing each other on one group: each round re-reads and re-applies. */
const SETTINGS_ROUNDS = 5;

export class GroupSettingsConflictError extends DomainError {
  readonly code = 'CONFLICT';
  constructor(readonly group: string) {
    super(`group ${group}'s settings kept changing under this change; try again`, { group });
  }
}

export interface DynamoDbGroupStoreOptions {
  readonly client: DynamoDBDocumentClient;
  /** The jobs table: group items live beside the jobs whose claims change their counters. */
  readonly tableName: string;
  /** Where settings changes are audited, in the change's own transaction (absent: read-only use). */
  readonly audit?: DynamoDbAuditLog;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Groups in the jobs table:
 * - `pk = GROUP#<name>`: settings (`maxGpus`, `maxRunningJobs`, `weight`, `settingsVersion`,
 *   `updatedAt`, `updatedBy`), the quota counters `runningGpus` and `runningJobs` (changed only in
 *   claim and end-of-RUNNING transactions, core/groups/group-quota-counters.ts) and the decayed
 *   usage buckets `usage_<ref>_<halfLife>` (core/groups/decayed-usage.ts).
 * - `pk = GROUP_INDEX`: a string set `names` of every group that was configured or ran a job.
 * A group without an item has the defaults (weight 1, no quotas, nothing running).
 *
 * It is also the scheduler's GroupStates: the states of the groups it asks for, in one BatchGetItem
 * per 100 groups.
 */
export class DynamoDbGroupStore implements GroupStates {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly audit: DynamoDbAuditLog | undefined;
  private readonly sleep: ((ms: number) => Promise<void>) | undefined;

  constructor(options: DynamoDbGroupStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.audit = options.audit;
    this.sleep = options.sleep;
  }

  /** The group's record, or undefined when it has no item (it has the defaults). */
  async read(name: string): Promise<GroupRecord | undefined> {
    try {
      const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: groupKey(name), ConsistentRead: true }));
      return out.Item ? itemToGroup(out.Item) : undefined;
    } catch (err) {
      throw dependencyFailure('group store', err);
    }
  }

  /** Every named group's record (the defaults for those without an item). */
  async readMany(names: readonly string[]): Promise<Map<string, GroupRecord>> {
    const unique = [...new Set(names)];
    const found = new Map<string, GroupRecord>();
    for (let i = 0; i < unique.length; i += BATCH_GET_LIMIT) {
      for (const item of await this.batchGet(unique.slice(i, i + BATCH_GET_LIMIT))) {
        const group = itemToGroup(item);
        found.set(group.name, group);
      }
    }
    return new Map(unique.map((n) => [n, found.get(n) ?? defaultGroupRecord(n)]));
  }

  /** Names of every group that was configured or ran a job, sorted. */
  async listNames(): Promise<string[]> {
    try {
      const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: INDEX_KEY, ConsistentRead: true }));
      const names = out.Item?.names as Set<string> | undefined;
      return [...(names ?? [])].sort();
    } catch (err) {
      throw dependencyFailure('group store', err);
    }
  }

  /**
   * Makes the group's item and index entry exist (idempotent). A claim calls it the first time a
   * group runs a job, outside the claim's transaction: being listed is no part of the quota.
   */
  async register(name: string): Promise<void> {
    try {
      await Promise.all([
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: groupKey(name),
            UpdateExpression: 'SET groupName = :name ADD runningGpus :zero, runningJobs :zero',
            ExpressionAttributeValues: { ':name': name, ':zero': 0 },
          }),
        ),
        this.client.send(new UpdateCommand({ TableName: this.tableName, ...this.indexAdd(name) })),
      ]);
    } catch (err) {
      throw dependencyFailure('group store', err);
    }
  }

  /**
   * Applies `change` to the group's settings with one audit entry (`group.update`, from and to) in
   * the same transaction. Conditional on the version read, so a concurrent change is re-read and
   * re-applied, and a claim that read the old limits retries on the new ones.
   */
  async updateSettings(name: string, change: GroupSettingsChange, actor: string, now: Date): Promise<GroupRecord> {
    const audit = this.audit;
    if (!audit) throw new Error('DynamoDbGroupStore: settings changes need the audit log');
    for (let round = 0; round < SETTINGS_ROUNDS; round++) {
      const current = (await this.read(name)) ?? defaultGroupRecord(name);
      const next = applySettingsChange(current, change);
      const version = current.settingsVersion;
      const items: TransactionAction[] = [
        {
          Update: {
            TableName: this.tableName,
            Key: groupKey(name),
            UpdateExpression:
              'SET groupName = :name, maxGpus = :maxGpus, maxRunningJobs = :maxJobs, weight = :weight, ' +
              'settingsVersion = :next, updatedAt = :at, updatedBy = :actor, ' +
              'runningGpus = if_not_exists(runningGpus, :zero), runningJobs = if_not_exists(runningJobs, :zero)',
            ConditionExpression: version === 0 ? 'attribute_not_exists(settingsVersion)' : 'settingsVersion = :version',
            ExpressionAttributeValues: {
              ':name': name,
              ':maxGpus': next.maxGpus,
              ':maxJobs': next.maxRunningJobs,
              ':weight': next.weight,
              ':next': version + 1,
              ':at': now.toISOString(),
              ':actor': actor,
              ':zero': 0,
              ...(version === 0 ? {} : { ':version': version }),
            },
          },
        },
        { Update: { TableName: this.tableName, ...this.indexAdd(name) } },
      ];
      try {
        await audit.transact({
          items,
          record: {
            actor,
            action: AUDIT_ACTIONS.groupUpdate,
            target: `group:${name}`,
            details: { group: name, from: settingsOf(current), to: next },
          },
          time: now,
        });
        return { ...current, ...next, settingsVersion: version + 1, updatedAt: now.toISOString(), updatedBy: actor };
      } catch (err) {
        if (err instanceof TransactionRefusedError) continue;
        throw err instanceof DomainError ? err : dependencyFailure('group store', err);
      }
    }
    throw new GroupSettingsConflictError(name);
  }

  async get(names: readonly string[], now: Date): Promise<Map<string, GroupSchedulingState>> {
    const records = await this.readMany(names);
    return new Map([...records].map(([n, r]) => [n, schedulingState(r, now)]));
  }

  private indexAdd(name: string) {
    return {
      Key: INDEX_KEY,
      UpdateExpression: 'ADD #names :name',
      ExpressionAttributeNames: { '#names': 'names' },
      ExpressionAttributeValues: { ':name': new Set([name]) },
    };
  }

  private async batchGet(names: readonly string[]): Promise<Item[]> {
    let keys: Item[] = names.map(groupKey);
    const found: Item[] = [];
    const step = async (): Promise<TryOutcome<Item[]>> => {
      try {
        const out = await this.client.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
        );
        found.push(...(out.Responses?.[this.tableName] ?? []));
        keys = (out.UnprocessedKeys?.[this.tableName]?.Keys as Item[] | undefined) ?? [];
      } catch (err) {
        throw dependencyFailure('group store', err);
      }
      return keys.length === 0
        ? { done: true, value: found }
        : { done: false, reason: new Error('BatchGetItem kept returning unprocessed keys') };
    };
    try {
      return await retry(step, { tries: 6, baseMs: 100, capMs: 1_000, ...(this.sleep ? { sleep: this.sleep } : {}) });
    } catch (err) {
      throw err instanceof RetriesExhaustedError ? dependencyFailure('group store', err.reason) : err;
    }
  }
}

function settingsOf(g: GroupSettings): GroupSettings {
  return { maxGpus: g.maxGpus, maxRunningJobs: g.maxRunningJobs, weight: g.weight };
}

function optionalNumber(value: unknown): number | null {
  return typeof value === 'number' ? value : null;
}

export function itemToGroup(item: Item): GroupRecord {
  const name = typeof item.groupName === 'string' ? item.groupName : String(item.pk).slice('GROUP#'.length);
  return {
    name,
    maxGpus: optionalNumber(item.maxGpus),
    maxRunningJobs: optionalNumber(item.maxRunningJobs),
    weight: typeof item.weight === 'number' && item.weight > 0 ? item.weight : 1,
    settingsVersion: optionalNumber(item.settingsVersion) ?? 0,
    runningGpus: optionalNumber(item.runningGpus) ?? 0,
    runningJobs: optionalNumber(item.runningJobs) ?? 0,
    usage: usageBuckets(item),
    updatedAt: typeof item.updatedAt === 'string' ? item.updatedAt : null,
    updatedBy: typeof item.updatedBy === 'string' ? item.updatedBy : null,
  };
}

export function schedulingState(group: GroupRecord, now: Date): GroupSchedulingState {
  return {
    name: group.name,
    weight: group.weight,
    maxGpus: group.maxGpus,
    maxRunningJobs: group.maxRunningJobs,
    runningGpus: group.runningGpus,
    runningJobs: group.runningJobs,
    decayedGpuSeconds: decayedUsage(group.usage, now),
  };
}

/** The public shape, usage decayed to `now` (to the millisecond of a GPU-second). */
export function groupView(group: GroupRecord, now: Date): GroupView {
  return {
    name: group.name,
    maxGpus: group.maxGpus,
    maxRunningJobs: group.maxRunningJobs,
    weight: group.weight,
    runningGpus: group.runningGpus,
    runningJobs: group.runningJobs,
    recentGpuSeconds: Math.round(decayedUsage(group.usage, now) * 1000) / 1000,
  };
}
