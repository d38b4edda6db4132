import type { Job } from '../jobs/job.ts';
import type { JobExit, RunningJob } from '../runtime/job-runtime.ts';

/**
 * What goes into a job's work directory before its process starts, and what comes out of it after
 * the process ends. Both answer with a reason instead of throwing: the worker ends the attempt
 * with it.
 */
export interface JobFiles {
  /** Fills `workDir` (empty) for this attempt; a reason when the attempt cannot start. */
  prepare(job: Job, workDir: string): Promise<string | undefined>;
  /** Stores and records the attempt's artifacts; a reason when some could not be stored. */
  collect(job: Job, workDir: string): Promise<string | undefined>;
}

/** Stands in for a job that was never started because its work directory could not be made. */
export function notStartedJob(reason: string): RunningJob {
  const exit: JobExit = { exitCode: null, signal: null, startError: reason };
  return { pid: undefined, exited: Promise.resolve(exit), stop: () => undefined };
}
