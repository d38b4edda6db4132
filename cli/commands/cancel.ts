/**
 * `runplane cancel <id>`: a queued job never starts; a running one is stopped by its worker.
 * Output: what happened, in a line; `--json`: the job object.
 */
import type { Command } from 'commander';
import type { RegisterCommand } from '../command-context.ts';

export const registerCancel: RegisterCommand = (command, context) => {
  const { output } = context;
  command.argument('<id>', 'job id').action(async (id: string, _options: unknown, cmd: Command) => {
    const { client, json } = await context.connect(cmd);
    const job = await client.cancelJob(id);
    if (json) return output.printJson(job);
    await output.out(
      job.state === 'CANCELLED'
        ? `cancelled ${job.id}\n`
        : `cancel requested for ${job.id} (${job.state}): its worker stops it within one heartbeat\n`,
    );
  });
};
