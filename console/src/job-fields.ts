import type { ApiJob } from '../../cli/api-client.ts';
import type { JobSpecInput, JobState } from '../../core/jobs/job.ts';

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

/**
 * Fields that newer APIs add to a job (usage and cost, `waiting`, arrays, dependencies). The
 * console shows them when they are there and says nothing when they are not.
 */
export interface JobExtras {
  readonly waiting?: { readonly code: string; readonly message: string; readonly since?: string };
  readonly cost?: number | { readonly usd?: number };
  readonly usage?: {
    readonly wallSeconds?: number;
    readonly gpuSeconds?: number;
    readonly cpuSeconds?: number;
    readonly peakMemoryMiB?: number;
    readonly costUsd?: number;
  };
  readonly arrayStatus?: Readonly<Record<string, number>>;
  readonly array?: { readonly size: number; readonly parallelism?: number };
  readonly arrayParent?: string;
  readonly dependsOn?: readonly { readonly job: string; readonly type: string }[];
  readonly priority?: number;
}

export type ConsoleJob = ApiJob & JobExtras;

export function jobCost(job: ConsoleJob): number | undefined {
  if (typeof job.cost === 'number') return job.cost;
  if (job.cost && typeof job.cost.usd === 'number') return job.cost.usd;
  return typeof job.usage?.costUsd === 'number' ? job.usage.costUsd : undefined;
}

/** The one-line answer to "why is it not running?", from `waiting` or the older `waitingReason`. */
export function waitingText(job: ConsoleJob): string | undefined {
  if (job.waiting) return `${job.waiting.message} (${job.waiting.code})`;
  return job.waitingReason ?? undefined;
}

/** The spec that submits the same work again ("Submit a copy"). */
export function copySpecOf(job: ConsoleJob): JobSpecInput {
  return {
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
