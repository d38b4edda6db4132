/**
 * `runplane submit [options] -- <command...>`: submit a job; with `--wait` or `--follow`, stay
 * until it ends and exit like it (exit-codes.ts).
 *
 * Output: the job id on stdout (with `--follow`, on stderr, since stdout carries the job's
 * output); `--json`: the job object (with `--follow`, event lines then the final job as a line).
 */
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
import { isTerminal } from '../terminal-states.ts';
import { IMAGE_PULL_POLICIES, type ImagePullPolicy, type RetryCondition } from '../../core/jobs/job.ts';
import type { ApiJob, SubmitRequest } from '../api-client.ts';
import type { Dependency } from '../../core/jobs/dependencies.ts';
import { ExitWith } from '../cli-errors.ts';
import type { RegisterCommand } from '../command-context.ts';
import { EXIT_OK, exitCodeForJob } from '../exit-codes.ts';
import { waitForJob } from '../follow.ts';
import { formatArrayProgressBar, formatFinalStatus, formatState } from '../format.ts';
import {
  parseDependencyOption,
  parseEnvOption,
  parseGroup,
  parseLabelOption,
  parseNonNegativeInt,
  parsePriority,
  parsePositiveInt,
  parsePositiveNumber,
  parseRetryOn,
} from '../options.ts';
import { streamJob } from '../stream-job.ts';
import { parseArrayOption, type ArrayOption } from '../array-option.ts';
import { shipWorkdir } from '../workdir-archive.ts';

export interface SubmitOptions {
  readonly group?: string;
  readonly queue?: string;
  readonly env?: Record<string, string>;
  readonly name?: string;
  readonly timeout?: number;
  readonly maxAttempts?: number;
  readonly retryOn?: RetryCondition[];
  readonly retryDelay?: number;
  readonly gpus?: number;
  readonly priority?: number;
  readonly cpu?: number;
  readonly memory?: number;
  readonly label?: Record<string, string>;
  readonly image?: string;
  readonly imagePullPolicy?: ImagePullPolicy;
  readonly wait?: boolean;
  readonly follow?: boolean;
  readonly raw?: boolean;
  /** A directory to pack and ship; the job starts in it. */
  readonly workdir?: string;
  readonly artifact?: string[];
  /** `--dependency afterok:ID[:ID...][,afterany:ID]` (Slurm syntax). */
  readonly dependency?: Dependency[];
  /** Set by the action once the work directory is stored. */
  readonly archive?: string;
  /** An array of children (cli/array-option.ts). */
  readonly array?: ArrayOption;
}

const SUBMIT_HINT =
  'hint: put the command after --, e.g. runplane submit --gpus 1 -- python train.py --lr 0.1\n';

function parseImagePullPolicy(value: string): ImagePullPolicy {
  const policy = IMAGE_PULL_POLICIES.find((p) => p.toLowerCase() === value.toLowerCase());
  if (!policy) throw new InvalidArgumentError(`must be one of ${IMAGE_PULL_POLICIES.join(', ')}`);
  return policy;
}

export const registerSubmit: RegisterCommand = (command, context) => {
  const { io, output } = context;
  command
    .usage('[options] -- <command> [args...]')
    .argument(
      '<command...>',
      'the program and its arguments, after --; passed as argv, verbatim, without a shell',
    )
    .option('-q, --queue <queue>', 'queue (worker pool) to run on (server default: "default")')
    .option('-e, --env <KEY=VALUE>', 'environment variable for the job (repeatable)', parseEnvOption)
    .option('-n, --name <name>', 'a name to find the job by')
    .option('-g, --group <group>', "the group the job belongs to (default: the caller's first)", parseGroup)
    .option(
      '--timeout <seconds>',
      'kill the job after this many seconds (server default: 24 h)',
      parsePositiveInt,
    )
    .option('--max-attempts <n>', 'run at most this many attempts when attempts fail', parsePositiveInt)
    .option(
      '--retry-on <conditions>',
      'what failures retry: comma-separated exit codes, NONZERO, WORKER_LOST, TIMED_OUT (server default: NONZERO,WORKER_LOST)',
      parseRetryOn,
    )
    .option('--retry-delay <seconds>', 'first retry backoff; doubles each attempt (server default: 10)', parseNonNegativeInt)
    .option('--gpus <n>', 'GPUs the job needs', parseNonNegativeInt)
    .option('--priority <n>', 'higher starts first within its group (-1000..1000, default 0)', parsePriority)
    .option('--cpu <n>', 'CPUs the job needs (fractions allowed)', parsePositiveNumber)
    .option('--memory <MiB>', 'memory the job needs, in MiB', parsePositiveInt)
    .option('-l, --label <KEY=VALUE>', 'label for the job (repeatable)', parseLabelOption)
    .option('--image <ref>', 'run the job in its own container from this OCI image (e.g. pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime)')
    .option('--image-pull-policy <policy>', 'IfNotPresent (default), Always or Never', parseImagePullPolicy)
    .option('--workdir <dir>', 'ship this directory (minus .git, .gitignore and .runplaneignore matches); the job starts in it')
    .option('--artifact <glob>', 'store files matching this glob (relative to the work directory) after the job ends (repeatable)', collectOption)
    .option(
      '-a, --array <indices>',
      'an array job, as in Slurm: 0-99%8 (100 children, 8 at once), 1,3,5-7, 0-15:4; each child gets RUNPLANE_ARRAY_INDEX',
      parseArrayOption,
    )
    .option(
      '-d, --dependency <TYPE:ID[:ID...][,...]>',
      'start only after other jobs of the group: afterok (succeeded), afterany (ended), afternotok (failed, cancelled or timed out), aftercorr (array child i after child i); e.g. afterok:ID:ID,afterany:ID',
      parseDependencyOption,
    )
    .option('-w, --wait', 'wait until the job ends (an array: all its children); exit 0 only if it succeeded')
    .option('-f, --follow', "stream the job's output until it ends, then exit like --wait")
    .option('--raw', "with --follow: write the job's terminal control sequences to a terminal as they are")
    .configureOutput({
      outputError: (message, write) => {
        write(message);
        if (/unknown option|missing required argument 'command'/.test(message)) write(SUBMIT_HINT);
      },
    })
    .action(async (argv: string[], options: SubmitOptions, cmd: Command) => {
      const { client, json } = await context.connect(cmd);
      const archive = options.workdir
        ? await shipWorkdir(client, options.workdir, {
            ...(options.group ? { group: options.group } : {}),
            ...(io.fetch ? { fetch: io.fetch as unknown as typeof fetch } : {}),
            note: (text) => output.note(text),
          })
        : undefined;
      const job = await client.submitJob(submitSpec(argv, { ...options, ...(archive ? { archive } : {}) }), {
        idempotencyKey: (io.newIdempotencyKey ?? randomUUID)(),
      });

      if (!options.wait && !options.follow) {
        await (json ? output.printJson(job) : output.out(`${job.id}\n`));
        return;
      }

      let final: ApiJob;
      if (options.follow && options.array) cmd.error('error: --follow streams one job; use --wait for an array', { exitCode: 2 });
      if (options.follow) {
        // stdout carries the job's own output, so the id goes to stderr.
        if (!json) await output.err(`submitted ${job.id}\n`);
        final = await streamJob(context, { client, jobId: job.id, json, raw: options.raw });
      } else {
        if (!json) await output.out(`${job.id}\n`);
        final = await waitForJob({
          client,
          jobId: job.id,
          // Progress in between (started, why it waits); the outcome is printed once, below.
          onChange: (j) => {
            if (json || isTerminal(j.state)) return;
            // An array's progress bar, redrawn as its children move.
            if (j.arrayStatus) return output.note(formatArrayProgressBar(j.arrayStatus));
            if (j.state === 'QUEUED' && !j.waitingReason) return;
            return output.note(`${j.id} ${formatState(j)}`);
          },
          ...(io.sleep ? { sleep: io.sleep } : {}),
          ...(io.waitIntervals ? { intervals: io.waitIntervals } : {}),
        });
      }
      if (json) await (options.follow ? output.printJsonLine(final) : output.printJson(final));
      // A follow ended with its `---` state line already.
      if (json || !options.follow) await output.err(formatFinalStatus(final));
      const code = exitCodeForJob(final);
      if (code !== EXIT_OK) throw new ExitWith(code);
    });
};

/** The request body for `submit`: only what was given, so the server's defaults apply to the rest. */
export function submitSpec(command: readonly string[], options: SubmitOptions): SubmitRequest {
  const resources = {
    ...(options.gpus === undefined ? {} : { gpus: options.gpus }),
    ...(options.cpu === undefined ? {} : { cpu: options.cpu }),
    ...(options.memory === undefined ? {} : { memoryMiB: options.memory }),
  };
  return {
    command: [...command],
    ...(options.group === undefined ? {} : { group: options.group }),
    ...(options.queue === undefined ? {} : { queue: options.queue }),
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.timeout === undefined ? {} : { timeoutSeconds: options.timeout }),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    ...(options.retryOn === undefined ? {} : { retryOn: options.retryOn }),
    ...(options.retryDelay === undefined ? {} : { retryDelaySeconds: options.retryDelay }),
    ...(Object.keys(resources).length === 0 ? {} : { resources }),
    ...(options.priority === undefined ? {} : { priority: options.priority }),
    ...(options.label === undefined ? {} : { labels: options.label }),
    ...(options.image === undefined ? {} : { image: options.image }),
    ...(options.imagePullPolicy === undefined ? {} : { imagePullPolicy: options.imagePullPolicy }),
    ...(options.archive === undefined ? {} : { workdir: { archive: options.archive } }),
    ...(options.artifact === undefined ? {} : { artifacts: options.artifact }),
    ...(options.array === undefined ? {} : { array: options.array }),
    ...(options.dependency === undefined ? {} : { dependsOn: options.dependency }),
  };
}

function collectOption(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
