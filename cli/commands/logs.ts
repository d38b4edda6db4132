/**
 * `runplane logs <id>`: a job's output as it stands now, or streamed until the job ends
 * (`--follow`). Output: the job's bytes as written, except that on a terminal its control
 * sequences are neutralised unless `--raw` (terminal-sanitizer.ts); `--json`: one event object
 * per line.
 */
import type { Command } from 'commander';
import type { JobEvent, RunplaneClient } from '../api-client.ts';
import type { RegisterCommand } from '../command-context.ts';
import { parsePositiveInt } from '../options.ts';
import { streamJob } from '../stream-job.ts';

interface LogsOptions {
  readonly follow?: boolean;
  readonly attempt?: number;
  readonly raw?: boolean;
}

/** Pages through one attempt's events as they stand now. */
async function forEachEvent(
  client: RunplaneClient,
  id: string,
  attempt: number | undefined,
  after: number,
  write: (event: JobEvent) => void | Promise<void>,
): Promise<void> {
  for (;;) {
    const page = await client.listEvents(id, {
      ...(attempt === undefined ? {} : { attempt }),
      after,
      limit: 1000,
    });
    for (const event of page.events) await write(event);
    after = page.next;
    if (!page.hasMore) return;
  }
}

export const registerLogs: RegisterCommand = (command, context) => {
  const { output } = context;
  command
    .argument('<id>', 'job id')
    .option('-f, --follow', 'keep streaming until the job ends')
    .option('--attempt <n>', 'which attempt (default: the latest)', parsePositiveInt)
    .option('--raw', "write the job's terminal control sequences (colours, cursor moves, titles) to a terminal as they are")
    .action(async (id: string, options: LogsOptions, cmd: Command) => {
      const { client, json } = await context.connect(cmd);
      if (options.follow) {
        await streamJob(context, { client, jobId: id, json, attempt: options.attempt, raw: options.raw });
        return;
      }
      if (!json) {
        const { stdout } = output.jobWriters(Boolean(options.raw));
        const logs = await client.getLogs(id, options.attempt);
        await stdout(logs.text);
        if (!logs.truncated || logs.next === undefined) return;
        // Past the server's response limit the rest comes from the events, from where the text stopped.
        await forEachEvent(client, id, logs.attempt, logs.next, (event) =>
          event.kind === 'output' ? stdout(event.data) : undefined,
        );
        return;
      }
      // JSON without --follow: every event of the attempt as it stands now, one per line.
      await forEachEvent(client, id, options.attempt, 0, output.printJsonLine);
    });
};
