import type { Job } from '../jobs/job.ts';
import type { AttemptFailure } from '../jobs/retry-policy.ts';
import type { ProcessExit, RunningProcess } from './process-runner.ts';

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

/** Stands in for a process that was never started because its work directory could not be made. */
export function notStartedProcess(reason: string): RunningProcess {
  const exit: ProcessExit = { exitCode: null, signal: null, spawnError: reason };
  return { pid: undefined, exited: Promise.resolve(exit), signal: () => undefined };
}

export interface OutcomeWithArtifacts {
  readonly state: 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';
  readonly reason: string;
  readonly failure?: AttemptFailure;
}

/**
 * The attempt's outcome once its artifacts are (not) stored: a job whose results are lost did not
 * succeed, and whatever it ended as, its reason says what was lost. Not retried: the process ran.
 */
export function outcomeAfterArtifacts<T extends OutcomeWithArtifacts>(outcome: T, notStored: string | undefined): T | OutcomeWithArtifacts {
  if (notStored === undefined) return outcome;
  const reason = `${outcome.reason}; artifacts not stored: ${notStored}`;
  if (outcome.state === 'SUCCEEDED') return { state: 'FAILED', reason, failure: { kind: 'artifacts-not-stored' } };
  return { ...outcome, reason };
}
