import type { UsageRecord } from './usage-record.ts';
import type { WorkerLifetime } from './worker-lifetime.ts';

/** A time window [from, to), as ISO instants. */
export interface UsageWindow {
  readonly from: string;
  readonly to: string;
}

/**
 * What the usage reports read. Records are written by the job store, in the transaction that ends
 * each attempt (core/jobs/dynamodb-store.ts), and lifetimes by the worker registry; this port only
 * reads, each method one GSI query (paged through to the end).
 */
export interface UsageStore {
  /** One group's usage records whose attempt ended in the window. */
  listGroupUsage(group: string, window: UsageWindow): Promise<UsageRecord[]>;
  /** Every group's usage records of one UTC day (YYYY-MM-DD) whose attempt ended in the window. */
  listDayUsage(day: string, window: UsageWindow): Promise<UsageRecord[]>;
  /** Workers alive at some point of the window. */
  listWorkerLifetimes(window: UsageWindow): Promise<WorkerLifetime[]>;
}
