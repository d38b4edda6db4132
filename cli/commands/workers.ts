/**
 * `runplane workers`: the workers that reported in the last minute. Output: a table;
 * `--json`: `{"workers": [...]}`.
 */
import type { Command } from 'commander';
import type { RegisterCommand } from '../command-context.ts';
import { formatTable } from '../format.ts';

export const registerWorkers: RegisterCommand = (command, context) => {
  const { output } = context;
  command.action(async (_options: unknown, cmd: Command) => {
    const { client, json } = await context.connect(cmd);
    const { workers } = await client.listWorkers();
    if (json) return output.printJson({ workers });
    if (workers.length === 0) return output.out('no workers have reported in the last minute\n');
    await output.out(
      formatTable(
        ['WORKER', 'QUEUE', 'GPUS', 'RUNNING', 'LAST SEEN', 'STATE'],
        workers.map((w) => [
          w.workerId,
          w.pool,
          w.gpus.length === 0 ? '-' : w.gpus.map((g) => `${g.index}:${g.name}`).join(','),
          `${w.runningJobs.length}/${w.concurrency}`,
          w.lastSeenAt.replace(/\.\d+Z$/, 'Z'),
          w.draining ? 'draining' : 'active',
        ]),
      ),
    );
  });
};
