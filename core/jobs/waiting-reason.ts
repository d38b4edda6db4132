import type { WorkerRecord } from '../workers/registry.ts';
import { quotaRefusal } from '../quota-refusal.ts';
import { POOL_SCALING_FRESH_MS, type GroupQuotaState, type PoolScaling } from '../scaling/pool-scaling.ts';
import type { Job } from './job.ts';

/** How recent a worker's report must be to count as "polling this queue". */
export const WORKER_SEEN_WITHIN_MS = 60_000;

/**
 * Why a QUEUED job has not started (specs/03-api.md lists them; specs/11-scheduling.md says which
 * decision gives which):
 * - `Queued`: next, admitted or about to be; a worker is starting it.
 * - `Resources`: first in line, but no live worker has the free slot and GPUs it needs right now.
 * - `Priority`: jobs of its own group with a higher priority (or submitted earlier) go first.
 * - `FairShare`: other groups, further below their share of recent GPU use, go first.
 * - `GroupQuota`: its group holds its `maxGpus` or `maxRunningJobs`.
 * - `NoCapacity`: no live worker of its queue could run it (pool scaled to zero, scaling out, or no
 *   worker with that many GPUs).
 * - `RetryBackoff`: a retry waiting for its backoff to end.
 * - `Dependency`, `ArrayThrottle`: held until the jobs it depends on end / its array has room.
 */
export const WAITING_CODES = [
  'Queued',
  'Resources',
  'Priority',
  'FairShare',
  'GroupQuota',
  'NoCapacity',
  'RetryBackoff',
  'Dependency',
  'ArrayThrottle',
] as const;
export type WaitingCode = (typeof WAITING_CODES)[number];

/** `waiting` on a job's view: non-null for every QUEUED job. */
export interface Waiting {
  readonly code: WaitingCode;
  readonly message: string;
  /** When the job started waiting for this reason (ISO). */
  readonly since: string;
  /** 1 = next among the runnable jobs of its queue the scheduler looked at; null when not known. */
  readonly position: number | null;
}

/** What the scheduler's last pass of a queue concluded for the pending jobs it looked at. */
export interface WaitingBoard {
  /** When the pass ran (ISO). */
  readonly at: string;
  readonly jobs: Readonly<Record<string, Waiting>>;
}

/** Where the scheduler posts its board and readers find it (one small item per queue). */
export interface WaitingBoards {
  read(queue: string): Promise<WaitingBoard | undefined>;
  write(queue: string, board: WaitingBoard): Promise<void>;
}

/** A board older than this is not trusted: the scheduler runs at least every minute. */
export const WAITING_BOARD_FRESH_MS = 90_000;

/** When the job entered its current state (the last history entry). */
function lastChangeAt(job: Job): string {
  return job.history.at(-1)?.at ?? job.createdAt;
}

/**
 * "Why is my job still waiting?" for a QUEUED job, from what is known without a scheduler pass:
 * its hold, its retry backoff, its admission, the workers polling its queue, and the scheduler's
 * last board. Null for a job that is not QUEUED.
 */
export function waitingFor(
  job: Job,
  facts: {
    readonly now: Date;
    readonly workers?: readonly WorkerRecord[];
    readonly board?: WaitingBoard | undefined;
    /** The scaler's last decision for the job's pool (AWS), which tells "scaled to zero" from "scaling out". */
    readonly scaling?: PoolScaling | undefined;
    /** The job's group's quotas and what its RUNNING jobs hold (the group item). */
    readonly groupQuota?: GroupQuotaState | undefined;
  },
): Waiting | null {
  if (job.state !== 'QUEUED') return null;
  const { now } = facts;
  const since = lastChangeAt(job);
  // A held job is not waiting for a worker at all: its hold says what it waits for.
  if (job.hold) return { code: job.hold.code, message: job.hold.message, since, position: null };
  // An array parent is never run: its children wait (and run) as jobs of their own.
  if (job.array) return { code: 'Queued', message: `none of its ${job.array.size} children has started yet; each waits as a job of its own`, since, position: null };
  if (job.retryAt && new Date(job.retryAt).getTime() > now.getTime()) {
    return {
      code: 'RetryBackoff',
      message: `waiting for retry backoff until ${job.retryAt} (attempt ${job.attempt + 1} of ${job.maxAttempts})`,
      since,
      position: null,
    };
  }
  // Before NoCapacity: a job its group's quota holds back is no scaler demand either (specs/11,
  // decision 24), so "the scaler starts a worker" would be a promise nobody keeps.
  const quota = !job.admittedAt && facts.groupQuota
    ? quotaRefusal(facts.groupQuota, { jobs: facts.groupQuota.runningJobs, gpus: facts.groupQuota.runningGpus }, job.resources.gpus)
    : null;
  if (quota) return { code: 'GroupQuota', message: `${quota}; it starts when a job of the group ends or the quota is raised`, since, position: null };
  if (facts.workers) {
    const noCapacity = noCapacityMessage(job, facts.workers, now, facts.scaling);
    if (noCapacity) return { code: 'NoCapacity', message: noCapacity, since, position: null };
  }
  if (job.admittedAt) {
    return { code: 'Queued', message: 'admitted by the scheduler: a worker is starting it', since: job.admittedAt, position: 1 };
  }
  const board = facts.board;
  const posted = board && now.getTime() - new Date(board.at).getTime() <= WAITING_BOARD_FRESH_MS ? board.jobs[job.id] : undefined;
  if (posted) return posted;
  return {
    code: 'Priority',
    message: `behind other jobs of group "${job.group}" on queue "${job.queue}"; position not known yet`,
    since,
    position: null,
  };
}

/** Why no live worker of the job's queue could run it, or null when one could. */
export function noCapacityMessage(job: Pick<Job, 'queue' | 'resources'>, workers: readonly WorkerRecord[], now: Date, scaling?: PoolScaling): string | null {
  const live = workers.filter((w) => now.getTime() - new Date(w.lastSeenAt).getTime() <= WORKER_SEEN_WITHIN_MS);
  const active = live.filter((w) => !w.draining);
  if (active.length === 0) {
    if (live.length > 0) return `every worker of queue "${job.queue}" is draining (shutting down); waiting for a new worker`;
    const fresh = scaling && now.getTime() - new Date(scaling.at).getTime() <= POOL_SCALING_FRESH_MS ? scaling : undefined;
    if (fresh) return scalingMessage(job.queue, fresh);
    return (
      `no worker has polled queue "${job.queue}" in the last ${WORKER_SEEN_WITHIN_MS / 1000} s (pool scaled to zero or ` +
      `scaling out); in AWS the scaler starts one within a minute, locally start one with \`runplane worker --queue ${job.queue}\``
    );
  }
  const largest = Math.max(...active.map((w) => w.gpus.length));
  if (job.resources.gpus > largest) {
    return `needs ${job.resources.gpus} GPU(s) but the largest live worker of queue "${job.queue}" has ${largest}; waiting for one that has them`;
  }
  return null;
}

/** No live worker, and the scaler said what it is doing about it. */
function scalingMessage(queue: string, scaling: PoolScaling): string {
  if (scaling.desiredTasks === 0) {
    return `pool "${queue}" is scaled to zero (scaler, ${scaling.at}); its next run, within a minute, starts a worker for the waiting jobs`;
  }
  if (scaling.runningTasks < scaling.desiredTasks) {
    return `pool "${queue}" is scaling out: ${scaling.runningTasks} of ${scaling.desiredTasks} worker task(s) running (scaler, ${scaling.at}); ` +
      'the job is admitted as soon as a new worker polls (an instance takes a few minutes to launch)';
  }
  return `${scaling.runningTasks} worker task(s) of pool "${queue}" are starting (scaler, ${scaling.at}); none has polled yet`;
}
