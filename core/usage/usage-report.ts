import { roundUsd } from './usage.ts';
import type { UsageRecord } from './usage-record.ts';
import type { WorkerLifetime } from './worker-lifetime.ts';

/** What GET /v1/usage rows are keyed by. */
export const USAGE_GROUPINGS = ['group', 'user', 'queue', 'day'] as const;
export type UsageGrouping = (typeof USAGE_GROUPINGS)[number];

export interface UsageRow {
  /** The group, the user (the jobs' owner), the queue, or the UTC day the attempts ended on. */
  readonly key: string;
  /** Distinct jobs with an attempt in the row. */
  readonly jobs: number;
  readonly attempts: number;
  readonly wallSeconds: number;
  readonly gpuSeconds: number;
  /** Over the attempts that measured it (a lost worker's attempt adds nothing). */
  readonly cpuSeconds: number;
  readonly costUsd: number;
}

/** Instance time no job held, and what it cost. */
export interface IdleCapacity {
  readonly instanceSeconds: number;
  readonly costUsd: number;
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

function keyOf(record: UsageRecord, by: UsageGrouping): string {
  switch (by) {
    case 'group':
      return record.group;
    case 'user':
      return record.owner;
    case 'queue':
      return record.queue;
    case 'day':
      return record.finishedAt.slice(0, 10);
  }
}

/** Sums usage records into one row per key, in key order (pure; O(records)). */
export function aggregateUsage(records: readonly UsageRecord[], by: UsageGrouping): UsageRow[] {
  const rows = new Map<string, { jobs: Set<string>; attempts: number; wall: number; gpu: number; cpu: number; cost: number }>();
  for (const r of records) {
    const key = keyOf(r, by);
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { jobs: new Set(), attempts: 0, wall: 0, gpu: 0, cpu: 0, cost: 0 }));
    row.jobs.add(r.jobId);
    row.attempts++;
    row.wall += r.wallSeconds;
    row.gpu += r.gpuSeconds;
    row.cpu += r.cpuSeconds ?? 0;
    row.cost += r.costUsd;
  }
  return [...rows.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, row]) => ({
      key,
      jobs: row.jobs.size,
      attempts: row.attempts,
      wallSeconds: round3(row.wall),
      gpuSeconds: round3(row.gpu),
      cpuSeconds: round3(row.cpu),
      costUsd: roundUsd(row.cost),
    }));
}

/**
 * Idle capacity in [from, to) (pure): the instance time workers were alive in the window (each
 * lifetime clipped to it) minus the instance time attempts held (wall seconds × their share of the
 * instance), and the same for cost (instance time × the worker's price, minus the attempts' cost).
 * Attempts count in the window they ended in, so a window's edges can shift held time by the
 * length of an attempt that spans them; the figures are clamped at zero.
 */
export function idleCapacity(lifetimes: readonly WorkerLifetime[], records: readonly UsageRecord[], from: Date, to: Date): IdleCapacity {
  let instanceSeconds = 0;
  let instanceCost = 0;
  for (const l of lifetimes) {
    const start = Math.max(Date.parse(l.startedAt), from.getTime());
    const end = Math.min(Date.parse(l.lastSeenAt), to.getTime());
    if (end <= start) continue;
    const seconds = (end - start) / 1000;
    instanceSeconds += seconds;
    instanceCost += (seconds * l.usdPerInstanceHour) / 3600;
  }
  const heldSeconds = records.reduce((s, r) => s + r.wallSeconds * r.instanceShare, 0);
  const heldCost = records.reduce((s, r) => s + r.costUsd, 0);
  return { instanceSeconds: round3(Math.max(0, instanceSeconds - heldSeconds)), costUsd: roundUsd(Math.max(0, instanceCost - heldCost)) };
}
