import { isTerminal, type Job } from '../jobs/job.ts';

/**
 * What one delivery of a job's message means, from the job as stored. Deliveries are
 * at-least-once, so most of these say "someone already did it" without touching the job.
 */
export type DeliveryDecision =
  /** A message with no job behind it can never succeed; deleting it keeps the queue clean. */
  | { readonly action: 'drop-unknown' }
  | { readonly action: 'ack-finished' }
  /**
   * A job held for its dependencies is not runnable (a stray copy of a message, a re-send after a
   * restart): the message goes; the job's release dispatches it afresh.
   */
  | { readonly action: 'ack-held' }
  /**
   * The message is visible again while a lease still runs, so its holder stopped extending it:
   * most likely a lost worker whose lease is about to run out. Keep the delivery and wait for the
   * lease rather than hand it back, which would spend one of the message's receives.
   */
  | { readonly action: 'wait-for-lease'; readonly remainingMs: number }
  /** After waiting, the holder is alive and renewing: a duplicate delivery. Look again later. */
  | { readonly action: 'release-duplicate' }
  /** The lease ran out: end the lost worker's attempt first. */
  | { readonly action: 'recover-lost-attempt' }
  | { readonly action: 'claim' };

export function decideDelivery(job: Job | undefined, nowMs: number, waitedForLease: boolean): DeliveryDecision {
  if (!job) return { action: 'drop-unknown' };
  if (isTerminal(job.state)) return { action: 'ack-finished' };
  if (job.state === 'QUEUED' && job.hold) return { action: 'ack-held' };
  if (job.state !== 'RUNNING') return { action: 'claim' };
  const remainingMs = (job.lease?.expiresAt ?? 0) - nowMs;
  if (remainingMs <= 0) return { action: 'recover-lost-attempt' };
  return waitedForLease ? { action: 'release-duplicate' } : { action: 'wait-for-lease', remainingMs };
}

/** GPU admission: a job gets GPUs of its own, or waits for another worker or for GPUs to free up. */
export type GpuAdmission =
  | { readonly admit: true }
  /** More GPUs than this machine has: leave it for a bigger worker. */
  | { readonly admit: false; readonly retryAfterSeconds: number; readonly why: 'too-many' };

export function decideGpuAdmission(wanted: number, total: number): GpuAdmission {
  if (wanted > 0 && wanted > total) return { admit: false, retryAfterSeconds: 10, why: 'too-many' };
  return { admit: true };
}
