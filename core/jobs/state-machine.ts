import type { JobState } from './job.ts';

/**
 * Allowed transitions. Terminal states have none: once SUCCEEDED, FAILED, CANCELLED or TIMED_OUT a
 * job never changes again. QUEUED → FAILED exists for a job whose message was dead-lettered before
 * any worker could claim it; RUNNING → QUEUED is a retry after a failed attempt.
 */
export const TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  QUEUED: ['RUNNING', 'CANCELLED', 'FAILED'],
  RUNNING: ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'QUEUED'],
  SUCCEEDED: [],
  FAILED: [],
  CANCELLED: [],
  TIMED_OUT: [],
};

export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The states a job may be in for a transition to `to` to be legal. */
export function sourcesOf(to: JobState): JobState[] {
  return (Object.keys(TRANSITIONS) as JobState[]).filter((from) => canTransition(from, to));
}
