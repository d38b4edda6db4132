import { CapacityRefusedError } from '../errors.ts';
import type { TransactionAction } from '../audit/dynamodb-audit-log.ts';
import { CounterChangedError, type CapacityCounters, type CounterAcquisition } from '../jobs/capacity-counters.ts';
import type { Holding, Job } from '../jobs/job.ts';
import { bucketAttribute, bucketFor, DEFAULT_USAGE_HALF_LIFE_SECONDS, expiredBucket, usageIncrement } from './decayed-usage.ts';
import { groupKey, itemToGroup, type DynamoDbGroupStore } from './dynamodb-group-store.ts';
import type { GroupRecord } from './group.ts';

export const GROUP_HOLDING_KIND = 'group';

export interface GroupQuotaCountersOptions {
  readonly groups: DynamoDbGroupStore;
  /** The jobs table, where the group items are. */
  readonly tableName: string;
  /** Half-life of the decayed usage the releases record (default 24 h). */
  readonly usageHalfLifeSeconds?: number;
}

/**
 * Group quotas as a capacity counter. A claim takes `runningGpus += gpus` and `runningJobs += 1`
 * on the group's item in the claim's own transaction. DynamoDB conditions cannot add, so the take
 * is conditional on `runningGpus <= maxGpus − gpus` (and `runningJobs <= maxRunningJobs − 1`) with
 * the limits as read just before, and on the settings version being the one read: a limit changed
 * in between refuses the take with CounterChangedError, and the store claims again on the new
 * limits. Every end of the RUNNING state gives the amounts back and adds the GPU-seconds held to
 * the group's decayed usage (an unconditional ADD: core/groups/decayed-usage.ts).
 */
export class GroupQuotaCounters implements CapacityCounters {
  readonly kind = GROUP_HOLDING_KIND;
  private readonly groups: DynamoDbGroupStore;
  private readonly tableName: string;
  private readonly halfLifeSeconds: number;

  constructor(options: GroupQuotaCountersOptions) {
    this.groups = options.groups;
    this.tableName = options.tableName;
    this.halfLifeSeconds = options.usageHalfLifeSeconds ?? DEFAULT_USAGE_HALF_LIFE_SECONDS;
  }

  async acquire(job: Job): Promise<CounterAcquisition> {
    let group = await this.groups.read(job.group);
    if (!group) {
      await this.groups.register(job.group);
      group = (await this.groups.read(job.group))!;
    }
    const gpus = job.resources.gpus;
    const read = group;
    // A job bigger than the whole quota waits until an admin raises it: no transaction can take it.
    const never = quotaExceeded(read, gpus, { runningGpus: 0, runningJobs: 0 });
    if (never) throw new CapacityRefusedError(job.id, 'GroupQuota', never);
    const conditions = [read.settingsVersion === 0 ? 'attribute_not_exists(settingsVersion)' : 'settingsVersion = :version'];
    const values: Record<string, unknown> = { ':gpus': gpus, ':one': 1 };
    if (read.settingsVersion !== 0) values[':version'] = read.settingsVersion;
    if (read.maxGpus !== null && gpus > 0) {
      conditions.push('runningGpus <= :gpuRoom');
      values[':gpuRoom'] = read.maxGpus - gpus;
    }
    if (read.maxRunningJobs !== null) {
      conditions.push('runningJobs <= :jobRoom');
      values[':jobRoom'] = read.maxRunningJobs - 1;
    }
    return {
      holding: { kind: this.kind, key: job.group, amounts: { runningGpus: gpus, runningJobs: 1 } },
      action: {
        Update: {
          TableName: this.tableName,
          Key: groupKey(job.group),
          UpdateExpression: 'ADD runningGpus :gpus, runningJobs :one',
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      refused: (found) => {
        if (!found) return new CounterChangedError(this.kind, job.group, 'GroupQuota');
        const now = itemToGroup(found);
        if (now.settingsVersion !== read.settingsVersion) return new CounterChangedError(this.kind, job.group, 'GroupQuota');
        return new CapacityRefusedError(job.id, 'GroupQuota', quotaExceeded(now, gpus, now) ?? `group ${job.group} is at its quota`);
      },
    };
  }

  release(holding: Holding, releasedAt: Date): TransactionAction {
    const gpus = holding.amounts.runningGpus ?? 0;
    const jobs = holding.amounts.runningJobs ?? 0;
    const bucket = bucketFor(releasedAt, this.halfLifeSeconds);
    const used = usageIncrement(gpus, new Date(holding.takenAt), releasedAt, bucket);
    return {
      Update: {
        TableName: this.tableName,
        Key: groupKey(holding.key),
        UpdateExpression: `ADD runningGpus :gpus, runningJobs :jobs${used > 0 ? ', #usage :used REMOVE #expired' : ''}`,
        ...(used > 0 ? { ExpressionAttributeNames: { '#usage': bucketAttribute(bucket), '#expired': bucketAttribute(expiredBucket(bucket)) } } : {}),
        ExpressionAttributeValues: { ':gpus': -gpus, ':jobs': -jobs, ...(used > 0 ? { ':used': used } : {}) },
      },
    };
  }
}

/** Why a job of `gpus` GPUs does not fit `group`'s quotas with `held` in use, or null when it fits. */
export function quotaExceeded(
  group: Pick<GroupRecord, 'name' | 'maxGpus' | 'maxRunningJobs'>,
  gpus: number,
  held: { readonly runningGpus: number; readonly runningJobs: number },
): string | null {
  if (group.maxGpus !== null && gpus > 0 && held.runningGpus + gpus > group.maxGpus) {
    return held.runningGpus === 0
      ? `the job needs ${gpus} GPUs, more than group ${group.name}'s quota of ${group.maxGpus} GPUs`
      : `group ${group.name} is at its GPU quota: ${held.runningGpus} of ${group.maxGpus} GPUs in use, the job needs ${gpus}`;
  }
  if (group.maxRunningJobs !== null && held.runningJobs + 1 > group.maxRunningJobs) {
    return held.runningJobs === 0
      ? `group ${group.name}'s quota allows no running jobs (maxRunningJobs 0)`
      : `group ${group.name} is at its running-jobs quota: ${held.runningJobs} of ${group.maxRunningJobs} jobs running`;
  }
  return null;
}
