import { describe, expect, it } from 'vitest';
import type { AttemptStatus } from '../../core/jobs/store.ts';
import { heartbeatStep, judgeStatus, renewWithinMs } from '../../core/worker/lease-keeping.ts';

describe('lease keeping', () => {
  it.each([
    // The default 60 s lease with 5 s heartbeats: renewals start 20 s before expiry (four tries).
    [60_000, 5_000, 20_000],
    // A lease of three heartbeats or fewer renews on every heartbeat.
    [5_000, 1_667, 5_001],
    [15_000, 5_000, 15_000],
    // Long leases renew with a third of them left.
    [600_000, 5_000, 200_000],
  ])('lease %d ms, heartbeat %d ms: renews within %d ms of expiry', (leaseMs, heartbeatMs, expected) => {
    expect(renewWithinMs(leaseMs, heartbeatMs)).toBe(expected);
  });

  it.each([
    // [ms left on the lease, step] with renewals from 20 s before expiry.
    [60_000, 'check'],
    [20_001, 'check'],
    [20_000, 'renew'],
    [5_000, 'renew'],
    // Already past expiry (a stalled process): still renew, the fenced write decides.
    [-1_000, 'renew'],
  ] as const)('%d ms left: %s', (left, action) => {
    expect(heartbeatStep(1_000_000, 1_000_000 + left, 20_000)).toEqual({ action });
  });

  const status = (over: Partial<AttemptStatus> = {}): AttemptStatus => ({
    state: 'RUNNING',
    attempt: 1,
    leaseId: 'L',
    cancelRequested: false,
    cancelRequestedBy: null,
    outputWatchedUntil: null,
    ...over,
  });

  it.each([
    ['our running lease', status(), { action: 'continue' }],
    ['a cancel request', status({ cancelRequested: true, cancelRequestedBy: 'alice' }), { action: 'cancel', by: 'alice' }],
    ['a cancel request without an actor', status({ cancelRequested: true }), { action: 'cancel', by: 'a user' }],
    // Never trusted as a lost lease (the read may be stale): confirmed by a fenced renewal.
    ['another lease', status({ leaseId: 'M' }), { action: 'confirm-lease' }],
    ['no lease', status({ leaseId: null }), { action: 'confirm-lease' }],
    ['a job no longer running', status({ state: 'SUCCEEDED' }), { action: 'confirm-lease' }],
    ['a still-queued read (stale, from before the claim)', status({ state: 'QUEUED', leaseId: null }), { action: 'confirm-lease' }],
    ['no job', undefined, { action: 'confirm-lease' }],
    // A cancel on another attempt's lease is that attempt's business; ours confirms first.
    ['a cancel under another lease', status({ leaseId: 'M', cancelRequested: true }), { action: 'confirm-lease' }],
  ] as const)('%s', (_name, s, verdict) => {
    expect(judgeStatus(s, 'L')).toEqual(verdict);
  });
});
