/**
 * `runplane groups set GROUP [--gpus N|none] [--jobs N|none] [--weight W]`: changes a group's
 * quotas and fair-share weight (admins). Options left out keep their value; `none` removes a quota.
 * Output: the group as a one-row table; `--json`: `{"group": {...}}`.
 */
import type { Command } from 'commander';
import { UsageError } from '../../cli-errors.ts';
import type { GroupSettingsRequest } from '../../api-client.ts';
import type { RegisterCommand } from '../../command-context.ts';
import { parseGroup, parseNonNegativeInt, parsePositiveNumber } from '../../options.ts';
import { formatGroupTable } from './list.ts';

/** `none` stays a string through commander, which turns a parser's null into an empty value. */
type Quota = number | 'none';

interface GroupsSetOptions {
  readonly gpus?: Quota;
  readonly jobs?: Quota;
  readonly weight?: number;
}

/** A quota: a whole number, or `none` for no quota. */
function parseQuota(raw: string): Quota {
  return raw === 'none' ? 'none' : parseNonNegativeInt(raw);
}

const quotaValue = (q: Quota): number | null => (q === 'none' ? null : q);

export const registerGroupsSet: RegisterCommand = (command, context) => {
  const { output } = context;
  command
    .argument('<group>', 'the group, e.g. ml-team', parseGroup)
    .option('--gpus <n>', 'most GPUs its running jobs may hold together ("none": no quota)', parseQuota)
    .option('--jobs <n>', 'most jobs it may run at once ("none": no quota)', parseQuota)
    .option('--weight <w>', 'fair-share weight, greater than 0 (default 1)', parsePositiveNumber)
    .action(async (group: string, options: GroupsSetOptions, cmd: Command) => {
      const settings: GroupSettingsRequest = {
        ...(options.gpus !== undefined ? { maxGpus: quotaValue(options.gpus) } : {}),
        ...(options.jobs !== undefined ? { maxRunningJobs: quotaValue(options.jobs) } : {}),
        ...(options.weight !== undefined ? { weight: options.weight } : {}),
      };
      if (Object.keys(settings).length === 0) throw new UsageError('name at least one of --gpus, --jobs, --weight');
      const { client, json } = await context.connect(cmd);
      const updated = await client.updateGroup(group, settings);
      if (json) return output.printJson(updated);
      await output.out(formatGroupTable([updated.group]));
    });
};
