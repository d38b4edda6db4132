/**
 * `runplane get <id>`: one job. Output: the details block (format.ts `formatJobDetails`; an array
 * parent's has a one-line progress summary); `--json`: the job object. With `--wait`, first waits
 * until the job ends (an array: all its children, with a progress bar on a terminal) and exits like it.
 */
import type { Command } from 'commander';
import { ExitWith } from '../cli-errors.ts';
import type { RegisterCommand } from '../command-context.ts';
import { EXIT_OK, exitCodeForJob } from '../exit-codes.ts';
import { waitForJob } from '../follow.ts';
import { formatArrayProgressBar, formatJobDetails } from '../format.ts';
import { isTerminal } from '../terminal-states.ts';

export const registerGet: RegisterCommand = (command, context) => {
  const { io, output } = context;
  command
    .argument('<id>', 'job id')
    .option('-w, --wait', 'wait until the job ends (an array: all its children); exit 0 only if it succeeded')
    .action(async (id: string, options: { wait?: boolean }, cmd: Command) => {
      const { client, json } = await context.connect(cmd);
      const job = options.wait
        ? await waitForJob({
            client,
            jobId: id,
            onChange: (j) => (json || isTerminal(j.state) || !j.arrayStatus ? undefined : output.note(formatArrayProgressBar(j.arrayStatus))),
            ...(io.sleep ? { sleep: io.sleep } : {}),
            ...(io.waitIntervals ? { intervals: io.waitIntervals } : {}),
          })
        : await client.getJob(id);
      await (json ? output.printJson(job) : output.out(formatJobDetails(job, io.now?.())));
      if (!options.wait) return;
      const code = exitCodeForJob(job);
      if (code !== EXIT_OK) throw new ExitWith(code);
    });
};
