/**
 * `runplane retry <id>`: run a finished job again as a new attempt. Output: the attempt queued,
 * in a line; `--json`: the job object.
 */
import type { Command } from 'commander';
import type { RegisterCommand } from '../command-context.ts';

export const registerRetry: RegisterCommand = (command, context) => {
  const { output } = context;
  command.argument('<id>', 'job id').action(async (id: string, _options: unknown, cmd: Command) => {
    const { client, json } = await context.connect(cmd);
    const job = await client.retryJob(id);
    if (json) return output.printJson(job);
    await output.out(`retrying ${job.id}: attempt ${job.attempt + 1} of ${job.maxAttempts} queued\n`);
  });
};
