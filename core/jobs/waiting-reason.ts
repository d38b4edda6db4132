import type { WorkerRecord } from '../workers/registry.ts';
import type { Job } from './job.ts';

/** How recent a worker's report must be to count as "polling this queue". */
export const WORKER_SEEN_WITHIN_MS = 60_000;

/**
 * "Why is my job still waiting?" for a QUEUED job, from what the platform knows: the retry backoff,
 * and the registry of workers polling its queue. Queue position is not known
 * (SQS does not expose it), so the answer never pretends to.
 */
export function waitingReason(job: Job, workers: readonly WorkerRecord[], now: Date): string | null {
  if (job.state !== 'QUEUED') return null;
  // A held job is not waiting for a worker at all: its hold says what it waits for.
  if (job.hold) return job.hold.message;
  if (job.retryAt && new Date(job.retryAt).getTime() > now.getTime()) {
    return `waiting for retry backoff until ${job.retryAt} (attempt ${job.attempt + 1} of ${job.maxAttempts})`;
  }
  const live = workers.filter((w) => now.getTime() - new Date(w.lastSeenAt).getTime() <= WORKER_SEEN_WITHIN_MS);
  const active = live.filter((w) => !w.draining);
  if (active.length === 0) {
    return live.length > 0
      ? `every worker of queue "${job.queue}" is draining (shutting down); waiting for a new worker`
      : `no worker has polled queue "${job.queue}" in the last ${WORKER_SEEN_WITHIN_MS / 1000} s; in AWS the scaler starts ` +
          `one within a minute, locally start one with \`runplane worker --queue ${job.queue}\``;
  }
  if (job.resources.gpus > 0) {
    const largest = Math.max(...active.map((w) => w.gpus.length));
    if (largest < job.resources.gpus) {
      return `needs ${job.resources.gpus} GPU(s) but the largest worker of queue "${job.queue}" has ${largest}`;
    }
  }
  const capacity = active.reduce((n, w) => n + w.concurrency, 0);
  const running = active.reduce((n, w) => n + w.runningJobs.length, 0);
  if (running >= capacity) {
    return `all ${active.length} worker(s) of queue "${job.queue}" are busy (${running} job(s) running); position in the queue unknown`;
  }
  return `queued; ${active.length} worker(s) of queue "${job.queue}" have free slots and should claim it within seconds`;
}
