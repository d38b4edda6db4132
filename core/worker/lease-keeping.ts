import type { AttemptStatus } from '../jobs/store.ts';

/**
 * How a running attempt keeps its lease and notices a cancel (pure; AttemptRunner does the I/O).
 *
 * Every heartbeat (≤ 5 s) the attempt must learn of a cancel request or a lost lease, but the
 * lease itself needs renewing only well before it runs out. A renewal is a write of the whole job
 * item plus a ChangeMessageVisibility; a status check is an eventually consistent read of a few
 * attributes (half a read unit). So a heartbeat renews only when the lease has less than
 * `renewWithinMs` left, and otherwise checks the status. The check may be a moment stale: it is
 * trusted for a cancel request (a stale read only delays it), never for a lost lease, which the
 * fenced renewal confirms. See specs/02-state-machine.md, "Leases and heartbeats".
 */
export type HeartbeatStep = { readonly action: 'renew' } | { readonly action: 'check' };

/**
 * How long before expiry renewals start: a third of the lease, and at least three heartbeats, so
 * two failed renewals in a row still leave the lease alive. When that is the whole lease (short
 * test leases), every heartbeat renews.
 */
export function renewWithinMs(leaseMs: number, heartbeatMs: number): number {
  return Math.max(leaseMs / 3, 3 * heartbeatMs);
}

export function heartbeatStep(nowMs: number, leaseExpiresAtMs: number, renewWithin: number): HeartbeatStep {
  return leaseExpiresAtMs - nowMs <= renewWithin ? { action: 'renew' } : { action: 'check' };
}

/** What a status check means for the attempt holding `leaseId`. */
export type StatusVerdict =
  | { readonly action: 'continue' }
  | { readonly action: 'cancel'; readonly by: string }
  /** The read says the lease is not ours (or the job is gone): confirm with a fenced renewal. */
  | { readonly action: 'confirm-lease' };

export function judgeStatus(status: AttemptStatus | undefined, leaseId: string): StatusVerdict {
  if (!status || status.state !== 'RUNNING' || status.leaseId !== leaseId) return { action: 'confirm-lease' };
  if (status.cancelRequested) return { action: 'cancel', by: status.cancelRequestedBy ?? 'a user' };
  return { action: 'continue' };
}
