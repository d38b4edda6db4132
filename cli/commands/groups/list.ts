/**
 * `runplane groups` (no subcommand): a table of groups with their quotas, weight and current use.
 * `--json`: `{"groups": [...]}`.
 */
import type { Command } from 'commander';
import type { GroupInfo } from '../../api-client.ts';
import type { RegisterCommand } from '../../command-context.ts';
import { formatTable } from '../../format.ts';

/** `used/limit`, or `used` alone when there is no quota. */
function quota(used: number, limit: number | null): string {
  return limit === null ? `${used}/-` : `${used}/${limit}`;
}

export function formatGroupTable(groups: readonly GroupInfo[]): string {
  return formatTable(
    ['GROUP', 'GPUS', 'JOBS', 'WEIGHT', 'RECENT GPU-HOURS'],
    groups.map((g) => [
      g.name,
      quota(g.runningGpus, g.maxGpus),
      quota(g.runningJobs, g.maxRunningJobs),
      String(g.weight),
      (g.recentGpuSeconds / 3600).toFixed(2),
    ]),
  );
}

export const registerGroupsList: RegisterCommand = (command, context) => {
  const { output } = context;
  command.action(async (_options: unknown, cmd: Command) => {
    const { client, json } = await context.connect(cmd);
    const { groups } = await client.listGroups();
    if (json) return output.printJson({ groups });
    await output.out(groups.length === 0 ? 'no groups\n' : formatGroupTable(groups));
  });
};
