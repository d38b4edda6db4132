/**
 * `--follow` output, shared by `submit --follow` and `logs --follow`: in JSON mode every event as
 * a line; otherwise the job's own stdout and stderr, with a note on the terminal at each retry.
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
}

/** Streams a job until it ends; resolves to the job as last read. */
export function streamJob({ io, output }: CommandContext, options: StreamJobOptions): Promise<ApiJob> {
  const { client, jobId, json, attempt } = options;
  const ignore = () => undefined;
  return followJob({
    client,
    jobId,
    ...(attempt === undefined ? {} : { attempt }),
    stdout: json ? ignore : output.out,
    stderr: json ? ignore : output.err,
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
