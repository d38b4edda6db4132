/**
 * `--follow` output, shared by `submit --follow` and `logs --follow`: in JSON mode every event as
 * a line; otherwise the job's own stdout and stderr (neutralised on a terminal unless `--raw`), and
 * on stderr a `---` line where a retry begins and one with the final state, so a follow never
 * ends silently.
 */
import type { ApiJob, JobEvent, RunplaneClient } from './api-client.ts';
import type { CommandContext } from './command-context.ts';
import { attemptBoundaryLine, finalStateLine, followJob } from './follow.ts';
import { isTerminal } from './terminal-states.ts';

export interface StreamJobOptions {
  readonly client: RunplaneClient;
  readonly jobId: string;
  readonly json: boolean;
  /** Only this attempt (see `followJob`). */
  readonly attempt?: number | undefined;
  /** Keep the job's terminal control sequences (`--raw`); else neutralised on a terminal. */
  readonly raw?: boolean | undefined;
}

/** Streams a job until it ends; resolves to the job as last read. */
export async function streamJob({ io, output }: CommandContext, options: StreamJobOptions): Promise<ApiJob> {
  const { client, jobId, json, attempt } = options;
  const ignore = () => undefined;
  const job = output.jobWriters(Boolean(options.raw));
  const final = await followJob({
    client,
    jobId,
    ...(attempt === undefined ? {} : { attempt }),
    stdout: json ? ignore : job.stdout,
    stderr: json ? ignore : job.stderr,
    ...(json ? { onEvent: (event: JobEvent) => output.printJsonLine(event) } : {}),
    onAttempt: (n, job) => (json ? undefined : output.err(`${attemptBoundaryLine(job, n)}\n`)),
    ...(io.sleep ? { sleep: io.sleep } : {}),
    ...(io.followIntervals ? { intervals: io.followIntervals } : {}),
  });
  if (!json) {
    const followedLast = attempt === undefined || attempt >= final.attempt;
    const ended = final.attempts.find((a) => a.attempt === attempt);
    if (isTerminal(final.state) && followedLast) await output.err(`${finalStateLine(final)}\n`);
    else if (ended?.reason) await output.err(`--- attempt ${attempt} ended (${ended.reason})\n`);
  }
  return final;
}
