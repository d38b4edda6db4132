import type { Clock } from '../ids.ts';
import type { Job } from './job.ts';
import { decideRetry } from './retry-policy.ts';
import { lostAttemptUsageRecord } from './attempt-usage.ts';
import type { JobStore } from './store.ts';

/**
 * Ends an attempt whose worker vanished (its lease ran out without a heartbeat). Every write is
 * fenced on that expired lease (`expiredBefore`), so a live attempt can never be taken over and
 * two recoverers cannot both act. Returns the job afterwards: QUEUED when `retryOn` includes
 * WORKER_LOST and attempts remain, otherwise FAILED (or CANCELLED if a cancel was pending).
 * `actor` is who recovers, for the audit entry: `system:reaper`, or `worker:<id>` for a worker
 * that received the lost attempt's message again.
 */
export async function recoverLostAttempt(
  store: JobStore,
  job: Job,
  clock: Clock,
  actor = 'system:recovery',
  options: RecoveryOptions = {},
): Promise<Job> {
  if (job.state !== 'RUNNING' || !job.lease) return job;
  const now = clock();
  const expiredAt = new Date(job.lease.expiresAt).toISOString();
  const fence = {
    jobId: job.id,
    group: job.group,
    leaseId: job.lease.id,
    attempt: job.attempt,
    holdings: job.holdings,
    ...(options.holderStopped ? {} : { expiredBefore: now.getTime() }),
    now,
    actor,
    // What the attempt used as far as anyone can know: its wall time, CPU and memory unknown.
    usage: lostAttemptUsageRecord(job, now),
  };
  const lost = `worker ${job.lease.workerId} lost (${options.holderStopped ?? `lease expired at ${expiredAt}`})`;
  if (job.cancelRequested) {
    return store.finishAttempt({ ...fence, to: 'CANCELLED', exitCode: null, reason: `cancelled by ${job.cancelRequestedBy ?? 'a user'}; ${lost}` });
  }
  if (options.holderStopped) {
    // The hand-back its holder was stopped before making: the job never failed.
    return store.requeueAttempt({ ...fence, exitCode: null, reason: `${lost}; handed back`, retryAt: null });
  }
  const decision = decideRetry(job, { kind: 'worker-lost' });
  if (decision.retry) {
    // No backoff: waiting out the lease already spaced the attempts.
    return store.requeueAttempt({ ...fence, exitCode: null, reason: `${lost}; retrying (attempt ${job.attempt + 1} of ${job.maxAttempts})`, retryAt: null });
  }
  return store.finishAttempt({ ...fence, to: 'FAILED', exitCode: null, reason: lost });
}

export interface RecoveryOptions {
  /**
   * Set when the caller knows the lease holder is gone because it was stopped, not because the job
   * failed: the local platform's own workers of a run ended by a second Ctrl-C or a kill. The
   * write is then fenced on that exact lease instead of its expiry (no one else can hold it), and
   * the job goes back to the queue as the holder's hand-back would have sent it, whatever its
   * retry policy. The text says how the holder went, for the reason.
   */
  readonly holderStopped?: string;
}
