/**
 * `runplane update <id> --priority N`: a queued job's new priority (audited); it moves in line at
 * once. Output: the new priority and why the job waits, in a line; `--json`: the job object.
 */
import type { Command } from 'commander';
import type { RegisterCommand } from '../command-context.ts';
import { formatState } from '../format.ts';
import { parsePriority } from '../options.ts';

export const registerUpdate: RegisterCommand = (command, context) => {
  const { output } = context;
  command
    .argument('<id>', 'job id')
    .requiredOption('--priority <n>', 'the new priority (-1000..1000; higher starts first within its group)', parsePriority)
    .action(async (id: string, options: { priority: number }, cmd: Command) => {
      const { client, json } = await context.connect(cmd);
      const job = await client.updateJob(id, { priority: options.priority });
      if (json) return output.printJson(job);
      await output.out(`${job.id}: priority ${job.priority}; ${formatState(job)}\n`);
    });
};
