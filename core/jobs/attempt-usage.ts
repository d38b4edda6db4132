import type { Job } from './job.ts';
import { attemptUsage, ZERO_RATE, type MeasuredUse } from '../usage/usage.ts';
import type { UsageRecord } from '../usage/usage-record.ts';

/** Nothing measured: a lost worker took its counters with it. */
export const UNMEASURED: MeasuredUse = { cpuSeconds: null, peakMemoryBytes: null };

/**
 * The usage record of the job's current attempt, ending at `endedAt` (pure): wall time from its
 * claim, the GPUs it held, at the rate its claim recorded (zero for attempts claimed before rates
 * were recorded).
 */
export function attemptUsageRecord(job: Job, endedAt: Date, measured: MeasuredUse): UsageRecord {
  const record = job.attempts[job.attempt - 1];
  const startedAt = record?.startedAt ?? job.startedAt ?? endedAt.toISOString();
  const rate = record?.costRate ?? ZERO_RATE;
  const gpus = job.resources.gpus;
  return {
    jobId: job.id,
    attempt: job.attempt,
    group: job.group,
    owner: job.owner,
    queue: job.queue,
    gpus,
    startedAt,
    finishedAt: endedAt.toISOString(),
    ...rate,
    ...attemptUsage({ startedAt, endedAt, gpus, rate, measured }),
  };
}

/**
 * A lost attempt's usage, recorded by whoever recovers it: its wall time runs to its lease's expiry
 * (the last moment its worker was known to hold it; `now` if that is earlier), CPU and memory are
 * unknown (null).
 */
export function lostAttemptUsageRecord(job: Job, now: Date): UsageRecord {
  const until = job.lease ? Math.min(job.lease.expiresAt, now.getTime()) : now.getTime();
  const record = attemptUsageRecord(job, new Date(until), UNMEASURED);
  // The record is filed when it is written (its sort key), though its wall time ends at the expiry.
  return { ...record, finishedAt: now.toISOString() };
}
