/**
 * `runplane usage`: GPU, CPU and wall time and cost of attempts that ended in a window, summed by
 * group, user, queue or day, like Slurm's `sacct` (cli/format-usage.ts). Admins see every group and
 * an `(idle)` line; others their own groups. `--json`: the API's `{by, from, to, rows, idle}`.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import type { UsageQuery } from '../api-client.ts';
import type { RegisterCommand } from '../command-context.ts';
import { formatUsageReport } from '../format-usage.ts';
import { parseGroup } from '../options.ts';

interface UsageOptions {
  readonly group?: string;
  readonly user?: string;
  readonly from?: string;
  readonly to?: string;
  readonly by: NonNullable<UsageQuery['by']>;
}

export const registerUsage: RegisterCommand = (command, context) => {
  const { output } = context;
  command
    .option('-g, --group <group>', 'one group (default: your groups; admins: every group)', parseGroup)
    .option('-u, --user <user>', 'only jobs this user submitted (their owner, as `get` shows it)')
    .option('-S, --from <time>', 'attempts that ended at or after this ISO date or time (default: 7 days ago)')
    .option('-E, --to <time>', 'attempts that ended before this ISO date or time (default: now)')
    .addOption(new Option('--by <key>', 'one line per').choices(['group', 'user', 'queue', 'day']).default('group'))
    .action(async (options: UsageOptions, cmd: Command) => {
      const { client, json } = await context.connect(cmd);
      const report = await client.getUsage({
        by: options.by,
        ...(options.group ? { group: options.group } : {}),
        ...(options.user ? { user: options.user } : {}),
        ...(options.from ? { from: options.from } : {}),
        ...(options.to ? { to: options.to } : {}),
      });
      if (json) return output.printJson(report);
      await output.out(formatUsageReport(report));
    });
};
