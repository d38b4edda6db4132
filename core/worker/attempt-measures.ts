import type { Job } from '../jobs/job.ts';

/**
 * What an attempt's start says about the platform, from the claimed job alone: how long a new job
 * took from submit to its process (first attempts only; a retry's includes its backoff), and how
 * long this attempt waited to be claimed since it became runnable (queued, or its backoff ended).
 */
export function attemptStartMeasures(job: Job, startedAt: Date): { dispatchLatencyMs: number | null; queueWaitMs: number } {
  const started = startedAt.getTime();
  const claim = [...job.history].reverse().find((c) => c.to === 'RUNNING');
  const queued = [...job.history].reverse().find((c) => c.to === 'QUEUED' && (!claim || c.at <= claim.at));
  const runnableSince = Math.max(Date.parse(queued?.at ?? job.createdAt), job.retryAt ? Date.parse(job.retryAt) : 0);
  const claimedAt = claim ? Date.parse(claim.at) : started;
  return {
    dispatchLatencyMs: job.attempt === 1 ? Math.max(0, started - Date.parse(job.createdAt)) : null,
    queueWaitMs: Math.max(0, claimedAt - runnableSince),
  };
}
