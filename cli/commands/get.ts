/**
 * `runplane get <id>`: one job. Output: the details block (format.ts `formatJobDetails`);
 * `--json`: the job object.
 */
import type { Command } from 'commander';
import type { RegisterCommand } from '../command-context.ts';
import { formatJobDetails } from '../format.ts';

export const registerGet: RegisterCommand = (command, context) => {
  const { io, output } = context;
  command.argument('<id>', 'job id').action(async (id: string, _options: unknown, cmd: Command) => {
    const { client, json } = await context.connect(cmd);
    const job = await client.getJob(id);
    await (json ? output.printJson(job) : output.out(formatJobDetails(job, io.now?.())));
  });
};
