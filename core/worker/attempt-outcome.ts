import type { Job } from '../jobs/job.ts';
import { decideRetry, type AttemptFailure } from '../jobs/retry-policy.ts';
import type { FinalState } from '../jobs/store.ts';
import type { JobExit } from '../runtime/job-runtime.ts';

/** Why the worker stopped an attempt before it exited on its own. */
export type StopCause =
  | { readonly kind: 'cancelled'; readonly by: string }
  | { readonly kind: 'timed-out'; readonly after: number }
  | { readonly kind: 'lease-lost' }
  | { readonly kind: 'handed-back' };

export interface AttemptOutcome {
  readonly state: FinalState;
  readonly reason: string;
  /** Set when the attempt failed; the retry policy reads it. */
  readonly failure?: AttemptFailure;
}

/** What an exit means, given why (if at all) the worker stopped the job. */
export function decideOutcome(exit: JobExit, stop: StopCause | undefined): AttemptOutcome {
  if (stop?.kind === 'cancelled') return { state: 'CANCELLED', reason: `cancelled by ${stop.by}`, failure: { kind: 'cancelled' } };
  if (stop?.kind === 'timed-out') {
    return { state: 'TIMED_OUT', reason: `timed out after ${stop.after} s`, failure: { kind: 'timed-out' } };
  }
  if (exit.startError !== undefined) {
    return { state: 'FAILED', reason: `could not start: ${exit.startError}`, failure: { kind: 'could-not-start' } };
  }
  if (exit.memoryExceeded) {
    const how = exit.signal ? `killed by signal ${exit.signal}` : `exited with code ${exit.exitCode ?? 'unknown'}`;
    return { state: 'FAILED', reason: `out of memory: ${how} for exceeding its memory limit`, failure: { kind: 'signal', signal: exit.signal ?? 'SIGKILL' } };
  }
  if (exit.exitCode === 0) return { state: 'SUCCEEDED', reason: 'exited with code 0' };
  if (exit.exitCode !== null) {
    return { state: 'FAILED', reason: `exited with code ${exit.exitCode}`, failure: { kind: 'exit', exitCode: exit.exitCode } };
  }
  const signal = exit.signal ?? 'unknown';
  return { state: 'FAILED', reason: `killed by signal ${signal}`, failure: { kind: 'signal', signal } };
}

/** What the worker does once an attempt's processes are gone. */
export type AttemptEnd =
  /** Fenced out: a newer attempt owns the job; write nothing more, not even buffered output. */
  | { readonly kind: 'abandon' }
  /** The worker is stopping: the job goes back to the queue at once. */
  | { readonly kind: 'hand-back'; readonly outcome: AttemptOutcome }
  | { readonly kind: 'retry'; readonly outcome: AttemptOutcome; readonly reason: string; readonly delaySeconds: number }
  | { readonly kind: 'finish'; readonly outcome: AttemptOutcome };

export function planAttemptEnd(
  job: Pick<Job, 'attempt' | 'maxAttempts' | 'retryOn' | 'retryDelaySeconds'>,
  exit: JobExit,
  stop: StopCause | undefined,
  random: () => number = Math.random,
): AttemptEnd {
  if (stop?.kind === 'lease-lost') return { kind: 'abandon' };
  const outcome = decideOutcome(exit, stop);
  if (stop?.kind === 'handed-back') return { kind: 'hand-back', outcome };
  const retry = outcome.failure ? decideRetry(job, outcome.failure, random) : { retry: false as const };
  if (!retry.retry) return { kind: 'finish', outcome };
  return {
    kind: 'retry',
    outcome,
    reason: `${outcome.reason}; retrying in ${retry.delaySeconds} s (attempt ${job.attempt + 1} of ${job.maxAttempts})`,
    delaySeconds: retry.delaySeconds,
  };
}
