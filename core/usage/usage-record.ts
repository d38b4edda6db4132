import type { AttemptUsage, CostRate } from './usage.ts';

/**
 * One ended attempt's usage as the aggregation reads it: stored beside the job, in the same
 * transaction as the write that ends the attempt, keyed for GET /v1/usage's queries by group and by
 * day (core/usage/usage-record-item.ts). Attributed to the moment the attempt ended.
 */
export interface UsageRecord extends AttemptUsage, CostRate {
  readonly jobId: string;
  readonly attempt: number;
  readonly group: string;
  readonly owner: string;
  readonly queue: string;
  /** GPUs the attempt held. */
  readonly gpus: number;
  readonly startedAt: string;
  readonly finishedAt: string;
}
