/**
 * The CLI's exit codes. `submit --wait` passes a failed job's own exit code through, so
 * `runplane submit --wait -- make test && deploy` behaves like running `make test` locally.
 */
import type { ApiJob } from './api-client.ts';

export const EXIT_OK = 0;
/** An API error, an unreachable API, or a waited-for job that did not succeed without an exit code of its own. */
export const EXIT_FAILURE = 1;
/** Bad command-line usage: unknown option, missing or malformed argument. Nothing was sent. */
export const EXIT_USAGE = 2;

/**
 * 0 for SUCCEEDED; the job's exit code when it FAILED with one that a process can return
 * (1 to 255); 1 otherwise (cancelled, timed out, killed by a signal, worker lost).
 */
export function exitCodeForJob(job: Pick<ApiJob, 'state' | 'exitCode'>): number {
  if (job.state === 'SUCCEEDED') return EXIT_OK;
  const code = job.exitCode;
  if (
    job.state === 'FAILED' &&
    typeof code === 'number' &&
    Number.isInteger(code) &&
    code >= 1 &&
    code <= 255
  )
    return code;
  return EXIT_FAILURE;
}
