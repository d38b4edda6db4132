import { isTerminal, type Job } from './job.ts';

/**
 * Output follows attention (specs/05-output-batching.md, decision 17). A read of a live attempt's
 * events marks the job watched for OUTPUT_WATCH_MS; the worker stores that job's output at once
 * while the mark lasts and in larger, cheaper batches otherwise. A follower polls every second or
 * so, so the mark is renewed only once less than OUTPUT_WATCH_RENEW_WITHIN_MS of it is left: one
 * small write per ten seconds of following, none for a job nobody follows.
 */
export const OUTPUT_WATCH_MS = 30_000;
export const OUTPUT_WATCH_RENEW_WITHIN_MS = 20_000;

/** The new end of the job's watch mark when a read of `attempt`'s events should renew it, else null (pure). */
export function outputWatchRenewal(job: Pick<Job, 'state' | 'attempt' | 'outputWatchedUntil'>, attempt: number, nowMs: number): number | null {
  if (isTerminal(job.state)) return null;
  // The attempt running now, or the one a queued job will run next: not an older attempt's output.
  if (attempt < Math.max(1, job.attempt) || attempt > job.attempt + 1) return null;
  if ((job.outputWatchedUntil ?? 0) - nowMs > OUTPUT_WATCH_RENEW_WITHIN_MS) return null;
  return nowMs + OUTPUT_WATCH_MS;
}
