/**
 * `--follow` output, shared by `submit --follow` and `logs --follow`: in JSON mode every event as
 * a line (JSON escapes control characters itself); otherwise the job's own stdout and stderr,
 * neutralised on a terminal unless `--raw`, with a note on the terminal at each retry.
 */
import type { ApiJob, JobEvent, RunplaneClient } from './api-client.ts';
import type { CommandContext } from './command-context.ts';
import { followJob } from './follow.ts';

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
export function streamJob({ io, output }: CommandContext, options: StreamJobOptions): Promise<ApiJob> {
  const { client, jobId, json, attempt } = options;
  const ignore = () => undefined;
  const job = output.jobWriters(Boolean(options.raw));
  return followJob({
    client,
    jobId,
    ...(attempt === undefined ? {} : { attempt }),
    stdout: json ? ignore : job.stdout,
    stderr: json ? ignore : job.stderr,
    ...(json ? { onEvent: (event: JobEvent) => output.printJsonLine(event) } : {}),
    onAttempt: (n, job) => {
      if (json) return;
      const previous = job.attempts.find((a) => a.attempt === n - 1);
      return output.note(
        `attempt ${n - 1} ended${previous?.reason ? ` (${previous.reason})` : ''}; following attempt ${n} of ${job.maxAttempts}`,
      );
    },
    ...(io.sleep ? { sleep: io.sleep } : {}),
    ...(io.followIntervals ? { intervals: io.followIntervals } : {}),
  });
}
