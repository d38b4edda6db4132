import type { UsageRecord } from './usage-record.ts';

/**
 * Usage records as items of the jobs table (pure). Each ended attempt is written twice, in the
 * transaction that ends it, under the `usage` GSI: once in its group's partition
 * (`usageKey = GROUP#<group>`: members' reports) and once in its UTC day's
 * (`usageKey = DAY#<YYYY-MM-DD>`: admins' reports over every group), both sorted by
 * `usageSortKey = <finishedAt>#<jobId>#<attempt>`. The keys hold the job id and attempt, so a
 * replayed write puts the same items again.
 */
export const USAGE_INDEX = 'usage';

export function groupPartition(group: string): string {
  return `GROUP#${group}`;
}

export function dayPartition(day: string): string {
  return `DAY#${day}`;
}

/** The UTC day (YYYY-MM-DD) an instant falls on. */
export function utcDay(iso: string): string {
  return iso.slice(0, 10);
}

export function usageSortKey(record: Pick<UsageRecord, 'finishedAt' | 'jobId' | 'attempt'>): string {
  return `${record.finishedAt}#${record.jobId}#${record.attempt}`;
}

/** The two items of one attempt's usage: by group, by day. */
export function usageRecordItems(record: UsageRecord): [Record<string, unknown>, Record<string, unknown>] {
  const sort = usageSortKey(record);
  return [
    { pk: `USAGE#${record.jobId}#${record.attempt}`, ...record, usageKey: groupPartition(record.group), usageSortKey: sort },
    { pk: `USAGEDAY#${record.jobId}#${record.attempt}`, ...record, usageKey: dayPartition(utcDay(record.finishedAt)), usageSortKey: sort },
  ];
}

export function itemToUsageRecord(item: Record<string, unknown>): UsageRecord {
  return {
    jobId: item.jobId as string,
    attempt: item.attempt as number,
    group: item.group as string,
    owner: item.owner as string,
    queue: item.queue as string,
    gpus: item.gpus as number,
    startedAt: item.startedAt as string,
    finishedAt: item.finishedAt as string,
    usdPerInstanceHour: item.usdPerInstanceHour as number,
    instanceShare: item.instanceShare as number,
    wallSeconds: item.wallSeconds as number,
    gpuSeconds: item.gpuSeconds as number,
    cpuSeconds: (item.cpuSeconds as number | null | undefined) ?? null,
    peakMemoryBytes: (item.peakMemoryBytes as number | null | undefined) ?? null,
    costUsd: item.costUsd as number,
  };
}
