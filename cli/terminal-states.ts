/**
 * Which job states are final, for the CLI. The core's `isTerminal` lives in core/jobs/job.ts
 * beside the job schemas, and importing it would load zod into every `get`, `logs` and
 * `--follow`; the list is repeated here instead and a unit test (cli-format.test.ts) keeps it
 * equal to the core's `TERMINAL_STATES`.
 */
import type { JobState } from '../core/jobs/job.ts';

export const TERMINAL_JOB_STATES: readonly JobState[] = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];

export function isTerminal(state: JobState): boolean {
  return TERMINAL_JOB_STATES.includes(state);
}
