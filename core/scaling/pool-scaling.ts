import type { GroupQuota } from '../quota-refusal.ts';

/**
 * What the scaler last decided for a pool, posted for "why is my job waiting?": with no live
 * worker, a job's NoCapacity says whether the pool is scaled to zero or scaling out
 * (core/jobs/waiting-reason.ts).
 */
export interface PoolScaling {
  readonly pool: string;
  /** The service's desired task count after the scaler's decision. */
  readonly desiredTasks: number;
  /** Tasks ECS reported running when it decided. */
  readonly runningTasks: number;
  /** When it decided (ISO). */
  readonly at: string;
}

/** One small item per pool, written by the scaler every run, read by the job views. */
export interface PoolScalingBoard {
  read(pool: string): Promise<PoolScaling | undefined>;
  write(status: PoolScaling): Promise<void>;
}

/** A status older than this says nothing (the scaler runs every minute). */
export const POOL_SCALING_FRESH_MS = 3 * 60_000;

/** The pool's runnable jobs that have no message yet (the scheduler's pending list): what starts a pool at zero. */
export interface PendingDemand {
  readonly jobs: number;
  readonly gpus: number;
}

/**
 * A pool's pending jobs by group: the GPUs each needs, in the group's pending order (priority,
 * then submit time), which is the order the scheduler would admit them in.
 */
export type PendingBacklog = ReadonlyMap<string, readonly number[]>;

export interface PendingDemandReader {
  read(pool: string): Promise<PendingBacklog>;
}

/** A group's quota limits and what its RUNNING jobs hold now (the group items' counters). */
export interface GroupQuotaState extends GroupQuota {
  readonly runningGpus: number;
  readonly runningJobs: number;
}

/** The groups' quota states (the group store, core/groups, is one: its scheduling states are these and more). */
export interface GroupQuotaReader {
  /** Every name answered; a group nobody configured has no limits. */
  get(names: readonly string[], now: Date): Promise<ReadonlyMap<string, GroupQuotaState>>;
}
