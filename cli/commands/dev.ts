/**
 * `runplane dev` (also `npm start`): the whole platform on this machine: API, emulated DynamoDB
 * and SQS, and workers. Runs until Ctrl-C.
 */
import { Option } from 'commander';
import type { RegisterCommand } from '../command-context.ts';
import { parseNonNegativeInt, parsePort } from '../options.ts';

interface DevOptions {
  readonly port: number;
  readonly workers: number;
  readonly inMemory?: boolean;
  readonly dataDir: string;
  readonly verbose?: boolean;
}

export const registerDev: RegisterCommand = (command) => {
  command
    .option('-p, --port <port>', 'port for the API', parsePort, 8787)
    .option('--workers <n>', 'local workers to start', parseNonNegativeInt, 1)
    .addOption(new Option('--in-memory', 'keep nothing on disk (all data is lost on exit)').conflicts('dataDir'))
    .option('--data-dir <dir>', 'where local data is kept', '.runplane')
    .option('-v, --verbose', 'also print one line per API request (always in <data-dir>/platform.log)')
    .action(async (options: DevOptions) => {
      // Loaded on demand: the platform, the emulators and the AWS SDK are only for this command.
      const { runDev } = await import('../../local/platform.ts');
      await runDev({
        port: options.port,
        workers: options.workers,
        inMemory: Boolean(options.inMemory),
        dataDir: options.dataDir,
        verbose: Boolean(options.verbose),
      });
    });
};
