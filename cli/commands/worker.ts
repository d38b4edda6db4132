/**
 * `runplane worker`: a worker on this machine that takes jobs from a queue of the local platform
 * (or of a deployment, from RUNPLANE_* settings). Runs until SIGTERM / Ctrl-C, then drains.
 */
import type { RegisterCommand } from '../command-context.ts';
import { parseNonNegativeInt, parsePositiveInt } from '../options.ts';

interface WorkerOptions {
  readonly queue: string;
  readonly concurrency: number;
  readonly drainSeconds: number;
  readonly dataDir: string;
}

export const registerWorker: RegisterCommand = (command) => {
  command
    .option('-q, --queue <queue>', 'queue to take jobs from', 'default')
    .option('-c, --concurrency <n>', 'jobs to run at once', parsePositiveInt, 1)
    .option(
      '--drain-seconds <seconds>',
      'on SIGTERM/Ctrl-C, let running jobs finish for this long',
      parseNonNegativeInt,
      30,
    )
    .option(
      '--data-dir <dir>',
      'the local platform to join (without RUNPLANE_* deployment settings)',
      '.runplane',
    )
    .action(async (options: WorkerOptions) => {
      // Loaded on demand: the worker pulls in the AWS SDK, which ordinary commands do not need.
      const { runWorkerCommand } = await import('../../local/worker-command.ts');
      await runWorkerCommand({
        queue: options.queue,
        concurrency: options.concurrency,
        drainSeconds: options.drainSeconds,
        dataDir: options.dataDir,
      });
    });
};
