import { MAX_RETRY_DELAY_SECONDS, type Job, type RetryCondition } from './job.ts';

/** Why an attempt ended without success, as the retry policy sees it. */
export type AttemptFailure =
  | { readonly kind: 'exit'; readonly exitCode: number }
  | { readonly kind: 'signal'; readonly signal: string }
  | { readonly kind: 'worker-lost' }
  | { readonly kind: 'timed-out' }
  | { readonly kind: 'cancelled' }
  | { readonly kind: 'could-not-start' }
  | { readonly kind: 'image-unavailable'; readonly image: string }
  /** The process ended but its artifacts could not be stored (after the collector's own retries). */
  | { readonly kind: 'artifacts-not-stored' };

export type RetryDecision = { readonly retry: false } | { readonly retry: true; readonly delaySeconds: number };

/** Whether the job's `retryOn` covers this failure. Cancels and start failures never retry. */
export function matchesRetryOn(retryOn: readonly RetryCondition[], failure: AttemptFailure): boolean {
  switch (failure.kind) {
    case 'exit':
      return retryOn.includes('NONZERO') || retryOn.includes(failure.exitCode);
    case 'signal':
      return retryOn.includes('NONZERO');
    case 'worker-lost':
      return retryOn.includes('WORKER_LOST');
    case 'timed-out':
      return retryOn.includes('TIMED_OUT');
    case 'image-unavailable':
      return retryOn.includes('IMAGE_PULL');
    case 'cancelled':
    case 'could-not-start':
    case 'artifacts-not-stored':
      return false;
  }
}

/**
 * Exponential backoff with jitter: the n-th retry waits retryDelaySeconds × 2^(n-1), capped at
 * SQS's 15-minute message delay, scaled by a random factor in [0.5, 1) so that a batch of jobs
 * failing together does not come back together.
 */
export function backoffSeconds(retryDelaySeconds: number, retryNumber: number, random: () => number = Math.random): number {
  const exponential = retryDelaySeconds * 2 ** Math.max(0, retryNumber - 1);
  const capped = Math.min(MAX_RETRY_DELAY_SECONDS, exponential);
  return Math.round(capped * (0.5 + random() / 2));
}

/** Decides, for the attempt that just failed, whether the job gets another and after how long. */
export function decideRetry(
  job: Pick<Job, 'attempt' | 'maxAttempts' | 'retryOn' | 'retryDelaySeconds'>,
  failure: AttemptFailure,
  random: () => number = Math.random,
): RetryDecision {
  if (job.attempt >= job.maxAttempts || !matchesRetryOn(job.retryOn, failure)) return { retry: false };
  return { retry: true, delaySeconds: backoffSeconds(job.retryDelaySeconds, job.attempt, random) };
}
