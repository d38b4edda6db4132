/**
 * `runplane list`: jobs, newest first. Output: a table (format.ts `formatJobTable`) and, when
 * more pages exist, a hint on stderr; `--json`: `{"jobs": [...], "nextCursor"}`.
 */
import type { Command } from 'commander';
import type { JobState } from '../../core/jobs/job.ts';
import type { ApiJob } from '../api-client.ts';
import type { RegisterCommand } from '../command-context.ts';
import { formatJobTable } from '../format.ts';
import { parseGroup, parsePositiveInt, parseState } from '../options.ts';

interface ListOptions {
  readonly group?: string;
  readonly state?: JobState;
  readonly queue?: string;
  readonly limit?: number;
  readonly cursor?: string;
  readonly all?: boolean;
  /** An array parent's id: list its children instead. */
  readonly array?: string;
}

export const registerList: RegisterCommand = (command, context) => {
  const { output } = context;
  command
    .option(
      '-s, --state <state>',
      `only jobs in this state (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, TIMED_OUT)`,
      parseState,
    )
    .option('-q, --queue <queue>', 'only jobs on this queue')
    .option('-g, --group <group>', "the group to list (default: the caller's first)", parseGroup)
    .option('--limit <n>', 'jobs per page (with --all: page size)', parsePositiveInt)
    .option('--cursor <cursor>', 'continue from a previous page (its nextCursor)')
    .option('-a, --all', 'fetch every page')
    .option('--array <parent>', "an array's children, in index order (only those materialised so far; `runplane get` counts all)")
    .action(async (options: ListOptions, cmd: Command) => {
      const { client, json } = await context.connect(cmd);
      const query = {
        ...(options.group ? { group: options.group } : {}),
        ...(options.state ? { state: options.state } : {}),
        ...(options.queue ? { queue: options.queue } : {}),
        ...(options.limit ? { limit: options.limit } : {}),
      };
      const jobs: ApiJob[] = [];
      let cursor: string | null = options.cursor ?? null;
      do {
        const page = options.array
          ? await client.listJobChildren(options.array, {
              ...(options.state ? { state: options.state } : {}),
              ...(options.limit ? { limit: options.limit } : {}),
              ...(cursor ? { cursor } : {}),
            })
          : await client.listJobs({ ...query, ...(cursor ? { cursor } : {}) });
        jobs.push(...page.jobs);
        cursor = page.nextCursor;
      } while (options.all && cursor);

      if (json) return output.printJson({ jobs, nextCursor: cursor });
      await output.out(jobs.length === 0 ? 'no jobs\n' : formatJobTable(jobs));
      if (cursor) await output.err(`more jobs: run again with --cursor ${cursor}, or use --all\n`);
    });
};
