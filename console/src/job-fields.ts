import type { ApiJob } from '../../cli/api-client.ts';
import type { JobSpecInput, JobState } from '../../core/jobs/job.ts';
import type { DependencyRequest } from './slurm-syntax.ts';

// The states as a value without importing core/jobs/job.ts (and zod with it) into the first page;
// the type makes the list fail to compile if a state is added or renamed.
const STATES = {
  QUEUED: true,
  RUNNING: true,
  SUCCEEDED: true,
  FAILED: true,
  CANCELLED: true,
  TIMED_OUT: true,
} satisfies Record<JobState, true>;
export const JOB_STATE_NAMES = Object.keys(STATES) as JobState[];

export function isFinished(state: JobState): boolean {
  return state !== 'QUEUED' && state !== 'RUNNING';
}

/** What an attempt (or a job, summed over its attempts) used and cost (issue 11). */
export interface Usage {
  readonly wallSeconds: number;
  readonly gpuSeconds: number;
  readonly cpuSeconds: number | null;
  readonly peakMemoryBytes: number | null;
  readonly costUsd: number;
}

/** Why a QUEUED job has not started (issue 11's scheduler). */
export interface Waiting {
  readonly code: string;
  readonly message: string;
  readonly since: string;
  readonly position: number | null;
}

export type ArrayStatus = { readonly total: number } & Readonly<Record<JobState, number>>;

export type JobDependency = DependencyRequest;

/**
 * Fields that newer APIs add to a job (issues 11 and 12: priority, `waiting`, usage and cost,
 * arrays, dependencies). Optional because an older deployment does not send them: the console
 * shows them when they are there and says nothing when they are not.
 */
export interface JobExtras {
  readonly priority?: number;
  readonly waiting?: Waiting | null;
  readonly usage?: Usage | null;
  readonly array?: { readonly size: number; readonly parallelism: number | null } | null;
  readonly arrayStatus?: ArrayStatus | null;
  readonly arrayParent?: string | null;
  readonly arrayIndex?: number | null;
  readonly dependsOn?: readonly JobDependency[];
  readonly hold?: { readonly code: string; readonly message: string } | null;
}

export type ConsoleAttempt = ApiJob['attempts'][number] & { readonly usage?: Usage | null };

export type ConsoleJob = Omit<ApiJob, keyof JobExtras | 'attempts'> & JobExtras & { readonly attempts: readonly ConsoleAttempt[] };

/** The job's cost so far, when the deployment measures it. */
export function jobCost(job: ConsoleJob): number | undefined {
  return typeof job.usage?.costUsd === 'number' ? job.usage.costUsd : undefined;
}

/** The one-line answer to "why is it not running?", from `waiting` or the older `waitingReason`. */
export function waitingText(job: ConsoleJob): string | undefined {
  if (job.waiting) return `${job.waiting.message} (${job.waiting.code})`;
  return job.waitingReason ?? undefined;
}

/** A few words per waiting code, for the jobs table's badge (the code itself is its title). */
const WAITING_WORDS: Readonly<Record<string, string>> = {
  Queued: 'next',
  Resources: 'resources',
  Priority: 'priority',
  FairShare: 'fair share',
  GroupQuota: 'group quota',
  NoCapacity: 'no capacity',
  RetryBackoff: 'retry backoff',
  Dependency: 'dependency',
  ArrayThrottle: 'array throttle',
};

/** The short badge a QUEUED job shows in the table; a code this console does not know is shown as is. */
export function waitingBadge(waiting: Waiting): string {
  const words = WAITING_WORDS[waiting.code] ?? waiting.code;
  return waiting.position === null ? words : `${words} · #${waiting.position}`;
}

export interface ProgressSegment {
  readonly state: JobState;
  readonly count: number;
  /** Share of the whole bar, 0..100. */
  readonly percent: number;
}

// Finished states first, so the bar fills from the left as the array progresses.
const PROGRESS_ORDER: readonly JobState[] = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED', 'RUNNING', 'QUEUED'];

/** An array parent's counts as the segments of a progress bar (states with no child left out). */
export function arrayProgress(status: ArrayStatus): { segments: ProgressSegment[]; finished: number } {
  const total = Math.max(status.total, 0);
  const segments = PROGRESS_ORDER.filter((state) => (status[state] ?? 0) > 0).map((state) => ({
    state,
    count: status[state],
    percent: total === 0 ? 0 : (status[state] / total) * 100,
  }));
  const finished = status.SUCCEEDED + status.FAILED + status.TIMED_OUT + status.CANCELLED;
  return { segments, finished };
}

/** What a copy carries that only newer APIs take (the submit form offers each where the API does). */
export interface CopyExtras {
  readonly priority?: number;
  readonly array?: { readonly size: number; readonly parallelism?: number };
  readonly dependsOn?: readonly JobDependency[];
}

/** The spec that submits the same work again ("Submit a copy"). */
export function copySpecOf(job: ConsoleJob): JobSpecInput & CopyExtras {
  return {
    ...(job.priority ? { priority: job.priority } : {}),
    ...(job.array ? { array: { size: job.array.size, ...(job.array.parallelism !== null ? { parallelism: job.array.parallelism } : {}) } } : {}),
    ...(job.dependsOn && job.dependsOn.length > 0 ? { dependsOn: job.dependsOn.map((d) => ({ ...d })) } : {}),
    command: [...job.command],
    queue: job.queue,
    env: { ...job.env },
    ...(job.name ? { name: job.name } : {}),
    timeoutSeconds: job.timeoutSeconds,
    maxAttempts: job.maxAttempts,
    retryOn: [...job.retryOn],
    retryDelaySeconds: job.retryDelaySeconds,
    resources: { ...job.resources },
    labels: { ...job.labels },
  };
}
