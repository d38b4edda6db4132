import type { ImagePullPolicy, Resources } from '../jobs/job.ts';
import type { MeasuredUse } from '../usage/usage.ts';

/**
 * How a job is run: a sandboxed process, a container. The worker only sees this port; each
 * adapter beside it passes the same conformance suite (test/integration/job-runtime.test.ts).
 */
export interface JobRuntime {
  /** What keeps a job away from the platform and from other jobs, said to people at start-up and in `runplane workers`. */
  readonly isolation: RuntimeIsolation;
  /**
   * Starts one attempt. Never rejects for the job's own reasons (a missing program, a missing
   * image): those resolve to a RunningJob whose `exited` carries `startError`.
   */
  start(spec: JobRunSpec): Promise<RunningJob>;
  /** Ends whatever this runtime started and no live attempt owns (a previous worker process's leftovers). */
  removeOrphans?(owner: OrphanOwner): Promise<number>;
}

export interface OrphanOwner {
  readonly workerId: string;
  readonly pool: string;
  /** Jobs this worker is running now: never orphans. */
  readonly liveJobs: ReadonlySet<string>;
  /** Whether another worker (of another host) still reports itself; its containers are not ours to end. */
  readonly isLiveWorker: (workerId: string) => Promise<boolean>;
}

// Declared with the worker records that report it, so the registry needs nothing of the runtimes.
export type { RuntimeIsolation } from '../workers/registry.ts';
import type { RuntimeIsolation } from '../workers/registry.ts';

export interface JobRunSpec {
  readonly jobId: string;
  readonly attempt: number;
  readonly workerId: string;
  /** The pool (queue) the worker serves: container labels say whose a container is. */
  readonly pool: string;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** The attempt's private working directory on the worker's machine. */
  readonly workDir: string;
  /** GPU indices the worker assigned to this attempt (empty: none). */
  readonly gpuIndices: readonly number[];
  readonly resources: Resources;
  /** Set for a container job. */
  readonly image?: { readonly reference: string; readonly pullPolicy: ImagePullPolicy } | undefined;
  /** Receives every chunk in the order read; returning false pauses that stream until `whenWritable` resolves. */
  readonly onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => boolean;
  readonly whenWritable: () => Promise<void>;
}

export interface JobExit {
  /** Null when the job was killed by a signal or never started. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the job could not be started at all (missing program, missing image, failed pull). */
  readonly startError?: string;
  /** Set with `startError` when the job's container image could not be found or pulled: the image named. */
  readonly imageUnavailable?: string;
  /** True when the runtime ended the job for using more memory than `resources.memoryMiB`. */
  readonly memoryExceeded?: boolean;
  /**
   * CPU time and peak memory of the job's processes (or container), as well as this runtime could
   * measure them: its cgroup's counters where it has one, /proc samples of its process tree
   * otherwise (core/runtime/process-tree-sampler.ts). Absent when the job never started.
   */
  readonly resourceUse?: MeasuredUse;
}

export interface RunningJob {
  /** The job's main process on the worker's machine, when the runtime knows it. */
  readonly pid: number | undefined;
  /** Resolves when every process of the job has ended and its output is fully read. */
  readonly exited: Promise<JobExit>;
  /** Signals every process of the job. */
  stop(signal: 'SIGTERM' | 'SIGKILL'): void;
}

/** What a person starting a worker is told about its jobs' isolation (start-up line, `runplane workers`). */
export function isolationNotice(isolation: RuntimeIsolation): string {
  if (isolation.kind !== 'none') return `jobs isolated: ${isolation.summary}`;
  return (
    'WARNING: no sandbox on this machine: process jobs run as this user, can read whatever it can ' +
    '(the data directory and its admin key included) and can signal its processes. Install bubblewrap ' +
    '(Linux), run the worker as root so jobs get uids of their own, or run jobs in containers (--image).'
  );
}
