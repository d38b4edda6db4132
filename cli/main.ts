/**
 * The `runplane` command line: commander wiring only. Requests go through `RunplaneClient`,
 * following through `followJob`/`waitForJob`, rendering through format.ts. The reference for
 * users is specs/07-cli.md.
 *
 * Output contract: human-readable text by default; with `--json`, single results are printed as
 * the API's JSON objects and streams (`--follow`, `logs --json`) as one JSON object per line.
 * Errors go to stderr. Exit codes are in exit-codes.ts.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ROLES } from '../core/auth/caller.ts';
import { isGroupName } from '../core/auth/groups.ts';
import { findLocalSigningKeyFile } from '../core/auth/local-files.ts';
import { isTerminal, type JobState } from '../core/jobs/job.ts';
import {
  ApiError,
  ConnectionError,
  RunplaneClient,
  type ApiJob,
  type JobEvent,
  type RetryPolicy,
} from './api-client.ts';
import { resolveToken } from './credentials.ts';
import type { AuditEntry, AuditPage, AuditVerifyResult } from './api-client.ts';
import { verifyListedEntries } from '../core/audit/verify.ts';
import { formatTable } from './format.ts';
import type { ApiKeyInfo, ApiKeyRole, SubmitRequest } from './api-client.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, exitCodeForJob } from './exit-codes.ts';
import { followJob, streamWriter, waitForJob, type PollIntervals, type Writer } from './follow.ts';
import { formatError, formatFinalStatus, formatJobDetails, formatJobTable, formatState } from './format.ts';
import {
  parseBaseUrl,
  parseEnvOption,
  parseLabelOption,
  parseNonNegativeInt,
  parsePort,
  parsePositiveInt,
  parsePositiveNumber,
  parseRetryOn,
  parseState,
} from './options.ts';

export const DEFAULT_API_URL = 'http://127.0.0.1:8787';

type OutputStream = NodeJS.WritableStream & { readonly isTTY?: boolean };

/** Everything the CLI touches outside itself; tests replace any of it. */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly retry?: Partial<RetryPolicy>;
  readonly followIntervals?: Partial<PollIntervals>;
  readonly waitIntervals?: Partial<PollIntervals>;
  readonly now?: () => Date;
  readonly newIdempotencyKey?: () => string;
}

interface GlobalOptions {
  readonly url?: string;
  readonly token?: string;
  readonly json?: boolean;
}

/** Entry point for bin/runplane.js: runs the CLI and sets `process.exitCode`. */
export async function main(argv: string[]): Promise<void> {
  // `runplane logs -f ID | head`: once the reader is gone there is nothing left to do.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? EXIT_OK);
  });
  process.exitCode = await runCli(argv.slice(2), {});
}

/**
 * Runs the CLI on the arguments after the program name and resolves to the exit code.
 * Never throws: errors are reported on `io.stderr`.
 */
export async function runCli(args: readonly string[], overrides: Partial<CliIo> = {}): Promise<number> {
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env, ...overrides };
  const program = buildProgram(io);
  try {
    await program.parseAsync([...args], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    return reportError(error, io, Boolean(program.opts<GlobalOptions>().json));
  }
}

/** A usage problem found after commander's own parsing (conflicting options, bad URL from the environment). */
class UsageError extends Error {}

/** A command's outcome when it is not success but also not an error to report (`submit --wait` on a failed job). */
class ExitWith extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

function reportError(error: unknown, io: CliIo, json: boolean): number {
  if (error instanceof ExitWith) return error.exitCode;
  // Commander has already printed its message (or the help / version text).
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (error instanceof UsageError) {
    io.stderr.write(`error: ${error.message}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof ApiError || error instanceof ConnectionError) {
    if (json) {
      const body =
        error instanceof ApiError
          ? {
              error: { code: error.code, message: error.message, details: error.details },
              status: error.status,
            }
          : {
              error: {
                code: 'UNREACHABLE',
                message: error.message,
                details: { url: error.baseUrl, reason: error.reason ?? null },
              },
            };
      io.stderr.write(`${JSON.stringify(body)}\n`);
    } else {
      io.stderr.write(formatError(error));
    }
    return EXIT_FAILURE;
  }
  // Anything else (a local platform that failed to start, a bug): the message, and the stack on request.
  const detail =
    error instanceof Error
      ? io.env.RUNPLANE_DEBUG
        ? (error.stack ?? error.message)
        : error.message
      : String(error);
  io.stderr.write(`error: ${detail}\n`);
  return EXIT_FAILURE;
}

function baseUrlFromEnv(env: CliIo['env']): string {
  const raw = env.RUNPLANE_URL;
  if (raw === undefined || raw.trim() === '') return DEFAULT_API_URL;
  try {
    return parseBaseUrl(raw.trim());
  } catch {
    throw new UsageError(`RUNPLANE_URL is not an http(s) URL: ${raw}`);
  }
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

const SUBMIT_HINT =
  'hint: put the command after --, e.g. runplane submit --gpus 1 -- python train.py --lr 0.1\n';

export function buildProgram(io: CliIo): Command {
  const program = new Command('runplane')
    .description('Submit, watch and manage Runplane jobs.')
    .version(packageVersion(), '-V, --version')
    .option('--url <url>', `API base URL (default: $RUNPLANE_URL, else ${DEFAULT_API_URL})`, parseBaseUrl)
    .option('--token <token>', 'bearer token for the API (default: $RUNPLANE_TOKEN)')
    .option('--json', 'print JSON (one object, or one object per line for streams)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    })
    .showSuggestionAfterError()
    .helpCommand(true);

  const context = async (command: Command) => {
    const globals = command.optsWithGlobals<GlobalOptions>();
    const baseUrl = globals.url ?? baseUrlFromEnv(io.env);
    const client = new RunplaneClient({
      baseUrl,
      // Without --token or RUNPLANE_TOKEN, a local platform's own admin key (core/auth/local-files.ts).
      token: await resolveToken({ flag: globals.token, env: io.env, baseUrl }),
      ...(io.fetch ? { fetch: io.fetch } : {}),
      ...(io.sleep ? { sleep: io.sleep } : {}),
      ...(io.retry ? { retry: io.retry } : {}),
    });
    return { client, json: Boolean(globals.json) };
  };

  const out: Writer = streamWriter(io.stdout);
  const err: Writer = streamWriter(io.stderr);
  const printJson = (value: unknown) => out(`${JSON.stringify(value, null, 2)}\n`);
  const printJsonLine = (value: unknown) => out(`${JSON.stringify(value)}\n`);
  // Progress notes go to a terminal only: scripts reading stderr get the job's stderr unmixed.
  const note = (text: string) => (io.stderr.isTTY ? err(`runplane: ${text}\n`) : undefined);

  /** Streams a job; in JSON mode as event lines, otherwise as the job's own stdout and stderr. */
  const follow = (client: RunplaneClient, jobId: string, json: boolean, attempt?: number) =>
    followJob({
      client,
      jobId,
      ...(attempt === undefined ? {} : { attempt }),
      stdout: json ? () => undefined : out,
      stderr: json ? () => undefined : err,
      ...(json ? { onEvent: (event: JobEvent) => printJsonLine(event) } : {}),
      onAttempt: (n, job) => {
        if (json) return;
        const previous = job.attempts.find((a) => a.attempt === n - 1);
        return note(
          `attempt ${n - 1} ended${previous?.reason ? ` (${previous.reason})` : ''}; following attempt ${n} of ${job.maxAttempts}`,
        );
      },
      ...(io.sleep ? { sleep: io.sleep } : {}),
      ...(io.followIntervals ? { intervals: io.followIntervals } : {}),
    });

  /** Pages through one attempt's events as they stand now. */
  const printEvents = async (
    client: RunplaneClient,
    id: string,
    attempt: number | undefined,
    after: number,
    write: (event: JobEvent) => void | Promise<void>,
  ) => {
    for (;;) {
      const page = await client.listEvents(id, {
        ...(attempt === undefined ? {} : { attempt }),
        after,
        limit: 1000,
      });
      for (const event of page.events) await write(event);
      after = page.next;
      if (!page.hasMore) return;
    }
  };

  program
    .command('submit')
    .description('submit a job and print its id')
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
    .option('--cpu <n>', 'CPUs the job needs (fractions allowed)', parsePositiveNumber)
    .option('--memory <MiB>', 'memory the job needs, in MiB', parsePositiveInt)
    .option('-l, --label <KEY=VALUE>', 'label for the job (repeatable)', parseLabelOption)
    .option('-w, --wait', 'wait until the job ends; exit 0 only if it succeeded')
    .option('-f, --follow', "stream the job's output until it ends, then exit like --wait")
    .configureOutput({
      outputError: (message, write) => {
        write(message);
        if (/unknown option|missing required argument 'command'/.test(message)) write(SUBMIT_HINT);
      },
    })
    .action(async (command: string[], options: SubmitOptions, cmd: Command) => {
      const { client, json } = await context(cmd);
      const spec = submitSpec(command, options);
      const job = await client.submitJob(spec, { idempotencyKey: (io.newIdempotencyKey ?? randomUUID)() });

      if (!options.wait && !options.follow) {
        await (json ? printJson(job) : out(`${job.id}\n`));
        return;
      }

      let final: ApiJob;
      if (options.follow) {
        // stdout carries the job's own output, so the id goes to stderr.
        if (!json) await err(`submitted ${job.id}\n`);
        final = await follow(client, job.id, json);
      } else {
        if (!json) await out(`${job.id}\n`);
        final = await waitForJob({
          client,
          jobId: job.id,
          // Progress in between (started, why it waits); the outcome is printed once, below.
          onChange: (j) => {
            if (json || isTerminal(j.state) || (j.state === 'QUEUED' && !j.waitingReason)) return;
            return note(`${j.id} ${formatState(j)}`);
          },
          ...(io.sleep ? { sleep: io.sleep } : {}),
          ...(io.waitIntervals ? { intervals: io.waitIntervals } : {}),
        });
      }
      if (json) await (options.follow ? printJsonLine(final) : printJson(final));
      await err(formatFinalStatus(final));
      const code = exitCodeForJob(final);
      if (code !== EXIT_OK) throw new ExitWith(code);
    });

  program
    .command('get')
    .description('show a job')
    .argument('<id>', 'job id')
    .action(async (id: string, _options: unknown, cmd: Command) => {
      const { client, json } = await context(cmd);
      const job = await client.getJob(id);
      await (json ? printJson(job) : out(formatJobDetails(job, io.now?.())));
    });

  program
    .command('list')
    .alias('ls')
    .description('list jobs, newest first')
    .option(
      '-s, --state <state>',
      `only jobs in this state (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, TIMED_OUT)`,
      parseState,
    )
    .option('-q, --queue <queue>', 'only jobs on this queue')
    .option('-g, --group <group>', "the group to list (default: the caller's first)", parseGroup)
    .option('--limit <n>', 'jobs per page (with --all: page size)', parsePositiveInt)
    .option('--cursor <cursor>', 'continue from a previous page (its nextCursor)')
    .option('-a, --all', 'fetch every page')
    .action(async (options: ListOptions, cmd: Command) => {
      const { client, json } = await context(cmd);
      const query = {
        ...(options.group ? { group: options.group } : {}),
        ...(options.state ? { state: options.state } : {}),
        ...(options.queue ? { queue: options.queue } : {}),
        ...(options.limit ? { limit: options.limit } : {}),
      };
      const jobs: ApiJob[] = [];
      let cursor: string | null = options.cursor ?? null;
      do {
        const page = await client.listJobs({ ...query, ...(cursor ? { cursor } : {}) });
        jobs.push(...page.jobs);
        cursor = page.nextCursor;
      } while (options.all && cursor);

      if (json) return printJson({ jobs, nextCursor: cursor });
      await out(jobs.length === 0 ? 'no jobs\n' : formatJobTable(jobs));
      if (cursor) await err(`more jobs: run again with --cursor ${cursor}, or use --all\n`);
    });

  program
    .command('logs')
    .description("print a job's output (--follow: stream it until the job ends)")
    .argument('<id>', 'job id')
    .option('-f, --follow', 'keep streaming until the job ends')
    .option('--attempt <n>', 'which attempt (default: the latest)', parsePositiveInt)
    .action(async (id: string, options: LogsOptions, cmd: Command) => {
      const { client, json } = await context(cmd);
      if (options.follow) {
        await follow(client, id, json, options.attempt);
        return;
      }
      if (!json) {
        const logs = await client.getLogs(id, options.attempt);
        await out(logs.text);
        if (!logs.truncated || logs.next === undefined) return;
        // Past the server's response limit the rest comes from the events, from where the text stopped.
        await printEvents(client, id, logs.attempt, logs.next, (event) =>
          event.kind === 'output' ? out(event.data) : undefined,
        );
        return;
      }
      // JSON without --follow: every event of the attempt as it stands now, one per line.
      await printEvents(client, id, options.attempt, 0, printJsonLine);
    });

  program
    .command('cancel')
    .description('cancel a job: a queued job never starts; a running one is stopped by its worker')
    .argument('<id>', 'job id')
    .action(async (id: string, _options: unknown, cmd: Command) => {
      const { client, json } = await context(cmd);
      const job = await client.cancelJob(id);
      if (json) return printJson(job);
      await out(
        job.state === 'CANCELLED'
          ? `cancelled ${job.id}\n`
          : `cancel requested for ${job.id} (${job.state}): its worker stops it within one heartbeat\n`,
      );
    });

  program
    .command('retry')
    .description('run a finished job again as a new attempt')
    .argument('<id>', 'job id')
    .action(async (id: string, _options: unknown, cmd: Command) => {
      const { client, json } = await context(cmd);
      const job = await client.retryJob(id);
      if (json) return printJson(job);
      await out(`retrying ${job.id}: attempt ${job.attempt + 1} of ${job.maxAttempts} queued\n`);
    });

  program
    .command('workers')
    .description('list the workers that reported in the last minute')
    .action(async (_options: unknown, cmd: Command) => {
      const { client, json } = await context(cmd);
      const { workers } = await client.listWorkers();
      if (json) return printJson({ workers });
      if (workers.length === 0) return out('no workers have reported in the last minute\n');
      const rows = [
        ['WORKER', 'QUEUE', 'GPUS', 'RUNNING', 'LAST SEEN', 'STATE'],
        ...workers.map((w) => [
          w.workerId,
          w.pool,
          w.gpus.length === 0 ? '-' : w.gpus.map((g) => `${g.index}:${g.name}`).join(','),
          `${w.runningJobs.length}/${w.concurrency}`,
          w.lastSeenAt.replace(/\.\d+Z$/, 'Z'),
          w.draining ? 'draining' : 'active',
        ]),
      ];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      await out(rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n');
    });

  const keys = program.command('keys').description('manage API keys (admins)');

  keys
    .command('create')
    .description('create an API key; prints the key once, on stdout')
    .requiredOption('--name <name>', 'what the key is for, e.g. "ci pipeline"')
    .addOption(new Option('--role <role>', 'what the key may do').choices(ROLES).makeOptionMandatory())
    .requiredOption('-g, --group <group>', 'a group the key acts in (repeatable; the first is its default)', collectGroup)
    .option('--ttl <duration>', 'lifetime: seconds, or a number with s, m, h or d (server default: 90d)', parseDuration)
    .action(async (options: KeyCreateOptions, cmd: Command) => {
      const { client, json } = await context(cmd);
      const created = await client.createApiKey({
        name: options.name,
        role: options.role,
        groups: options.group,
        ...(options.ttl === undefined ? {} : { ttlSeconds: options.ttl }),
      });
      if (json) return printJson(created);
      // The key alone on stdout, so `KEY=$(runplane keys create ...)` captures exactly it.
      await out(`${created.key}\n`);
      await err(
        `created API key ${created.id} "${created.name}": role ${created.role}, groups ${created.groups.join(',')}, ` +
          `expires ${created.expiresAt ?? 'never'}\nstore the key now: it is not shown again\n`,
      );
    });

  keys
    .command('list')
    .alias('ls')
    .description('list API keys, newest first (never the keys themselves)')
    .option('-a, --all', 'fetch every page')
    .action(async (options: { all?: boolean }, cmd: Command) => {
      const { client, json } = await context(cmd);
      const all: ApiKeyInfo[] = [];
      let cursor: string | null = null;
      do {
        const page = await client.listApiKeys({ limit: 100, ...(cursor ? { cursor } : {}) });
        all.push(...page.keys);
        cursor = page.nextCursor;
      } while (options.all && cursor);
      if (json) return printJson({ keys: all, nextCursor: cursor });
      await out(all.length === 0 ? 'no API keys\n' : formatKeyTable(all, (io.now ?? (() => new Date()))()));
      if (cursor) await err('more keys: run again with --all\n');
    });

  keys
    .command('revoke')
    .description('revoke an API key: requests with it fail from now on')
    .argument('<id>', 'key id (the part after rp_, before the second _)')
    .action(async (id: string, _options: unknown, cmd: Command) => {
      const { client, json } = await context(cmd);
      const key = await client.revokeApiKey(id);
      if (json) return printJson(key);
      await out(`revoked ${key.id} "${key.name}" at ${key.revokedAt ?? '?'}\n`);
    });

  program
    .command('token')
    .description("mint a JWT signed with the deployment's own key (needs the private key: admins only)")
    .requiredOption('--subject <subject>', 'who the token stands for (its sub claim)')
    .requiredOption('-g, --group <group>', 'a group the token acts in (repeatable)', collectGroup)
    .addOption(new Option('--role <role>', 'what the token may do').choices(ROLES).default('member'))
    .option('--ttl <duration>', 'lifetime: seconds, or a number with s, m, h or d (max 30d)', parseDuration, 3600)
    .option('--key-file <path>', 'signing key document (default: the local platform\'s .runplane/auth/signing-key.json)')
    .option('--data-dir <dir>', 'local platform data directory holding the signing key')
    .action(async (options: TokenOptions, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const keyFile =
        options.keyFile ??
        (await findLocalSigningKeyFile({
          baseUrl: globals.url ?? baseUrlFromEnv(io.env),
          env: io.env,
          ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
        }));
      if (!keyFile) {
        throw new UsageError('no signing key found: start the local platform once (runplane dev), or pass --key-file');
      }
      // Loaded on demand: only this command needs jose.
      const { mintToken, parseSigningKey } = await import('../core/auth/signing-key.ts');
      let text: string;
      try {
        text = readFileSync(keyFile, 'utf8');
      } catch {
        throw new UsageError(`cannot read the signing key ${keyFile}`);
      }
      const token = await mintToken(
        parseSigningKey(text),
        { subject: options.subject, role: options.role, groups: options.group, ttlSeconds: options.ttl },
        (io.now ?? (() => new Date()))(),
      );
      await out(`${token}\n`);
    });

  const audit = program.command('audit').description('read and verify the tamper-evident audit chain (admins)');
  audit
    .command('list')
    .description('list audit entries: shards merged by time, each shard in sequence order')
    .option('--after <cursor>', 'continue after a previous page (its next)')
    .option('--limit <n>', 'entries per page (with --all: page size)', parsePositiveInt)
    .option('--shard <shard>', 'one shard (0, 1, ...) or "root" for the checkpoints', parseAuditShard)
    .option('-a, --all', 'fetch every page')
    .action(async (options: AuditListOptions, cmd: Command) => {
      const { client, json } = await context(cmd);
      const entries: AuditEntry[] = [];
      let after = options.after;
      let page: AuditPage;
      do {
        page = await client.listAudit({
          ...(after ? { after } : {}),
          ...(options.limit ? { limit: options.limit } : {}),
          ...(options.shard !== undefined ? { shard: options.shard } : {}),
        });
        entries.push(...page.entries);
        after = page.next;
      } while (options.all && page.hasMore);
      if (json) return printJson({ entries, next: page.next, hasMore: page.hasMore });
      await out(
        entries.length === 0
          ? 'no audit entries\n'
          : formatTable(
              ['TIME', 'SHARD', 'SEQ', 'ACTOR', 'ACTION', 'TARGET'],
              entries.map((e) => [e.time, String(e.shard), String(e.seq), e.actor, e.action, e.target]),
            ),
      );
      if (page.hasMore) await err(`more entries: run again with --after ${page.next}, or use --all\n`);
    });
  audit
    .command('verify')
    .description('recompute every link of the audit chain; exit 1 naming the first broken entry')
    .option('--local', "recompute the hashes on this machine from the listed entries instead of the server's check")
    .action(async (options: { local?: boolean }, cmd: Command) => {
      const { client, json } = await context(cmd);
      let result: AuditVerifyResult;
      if (options.local) {
        const entries: AuditEntry[] = [];
        for (const shard of [undefined, 'root'] as const) {
          let after: string | undefined;
          let page: AuditPage;
          do {
            page = await client.listAudit({ limit: 1000, ...(after ? { after } : {}), ...(shard ? { shard } : {}) });
            entries.push(...page.entries);
            after = page.next;
          } while (page.hasMore);
        }
        result = verifyListedEntries(entries);
      } else {
        result = await client.verifyAudit();
      }
      if (json) await printJson(result);
      else if (result.ok) {
        await out(`audit chain intact: ${result.entries} entries in ${result.shards} shards, ${result.checkpoints} checkpoints\n`);
      } else {
        const first = result.firstBroken!;
        await out(`audit chain BROKEN: first broken entry is shard ${first.shard} seq ${first.seq} (${first.kind}): ${first.problem}\n`);
        for (const p of result.problems.slice(1, 20)) await out(`  also shard ${p.shard} seq ${p.seq} (${p.kind}): ${p.problem}\n`);
      }
      if (!result.ok) throw new ExitWith(EXIT_FAILURE);
    });

  program
    .command('worker')
    .description('run a worker on this machine that takes jobs from a queue')
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
    .action(
      async (options: { queue: string; concurrency: number; drainSeconds: number; dataDir: string }) => {
        // Loaded on demand: the worker pulls in the AWS SDK, which ordinary commands do not need.
        const { runWorkerCommand } = await import('../local/worker-command.ts');
        await runWorkerCommand({
          queue: options.queue,
          concurrency: options.concurrency,
          drainSeconds: options.drainSeconds,
          dataDir: options.dataDir,
        });
      },
    );

  program
    .command('dev')
    .description('run the whole platform locally: API, emulated DynamoDB and SQS, and workers')
    .option('-p, --port <port>', 'port for the API', parsePort, 8787)
    .option('--workers <n>', 'local workers to start', parseNonNegativeInt, 1)
    .addOption(
      new Option('--in-memory', 'keep nothing on disk (all data is lost on exit)').conflicts('dataDir'),
    )
    .option('--data-dir <dir>', 'where local data is kept', '.runplane')
    .action(async (options: { port: number; workers: number; inMemory?: boolean; dataDir: string }) => {
      const { runDev } = await import('../local/platform.ts');
      await runDev({
        port: options.port,
        workers: options.workers,
        inMemory: Boolean(options.inMemory),
        dataDir: options.dataDir,
      });
    });

  return program;
}

interface SubmitOptions {
  readonly group?: string;
  readonly queue?: string;
  readonly env?: Record<string, string>;
  readonly name?: string;
  readonly timeout?: number;
  readonly maxAttempts?: number;
  readonly retryOn?: (number | 'NONZERO' | 'WORKER_LOST' | 'TIMED_OUT')[];
  readonly retryDelay?: number;
  readonly gpus?: number;
  readonly cpu?: number;
  readonly memory?: number;
  readonly label?: Record<string, string>;
  readonly wait?: boolean;
  readonly follow?: boolean;
}

interface ListOptions {
  readonly group?: string;
  readonly state?: JobState;
  readonly queue?: string;
  readonly limit?: number;
  readonly cursor?: string;
  readonly all?: boolean;
}

interface KeyCreateOptions {
  readonly name: string;
  readonly role: ApiKeyRole;
  readonly group: string[];
  readonly ttl?: number;
}

interface TokenOptions {
  readonly subject: string;
  readonly role: ApiKeyRole;
  readonly group: string[];
  readonly ttl: number;
  readonly keyFile?: string;
  readonly dataDir?: string;
}

function parseGroup(raw: string): string {
  if (!isGroupName(raw)) throw new InvalidArgumentError('Expected a group name such as "ml-team" (letters, digits, . _ / @ : -).');
  return raw;
}

/** Accumulates repeated `--group` values. */
function collectGroup(raw: string, previous: string[] | undefined): string[] {
  const group = parseGroup(raw);
  if (previous?.includes(group)) throw new InvalidArgumentError(`group "${group}" is given twice.`);
  return [...(previous ?? []), group];
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `3600`, `90s`, `15m`, `12h`, `30d` → seconds. */
export function parseDuration(raw: string): number {
  const match = /^\s*(\d+)\s*([smhd]?)\s*$/i.exec(raw);
  const seconds = match ? Number(match[1]) * (DURATION_UNITS[(match[2] || 's').toLowerCase()] ?? 1) : Number.NaN;
  if (!Number.isSafeInteger(seconds) || seconds < 1) throw new InvalidArgumentError('Expected a duration such as 3600, 15m, 12h or 30d.');
  return seconds;
}

function keyStatus(key: ApiKeyInfo, now: Date): string {
  if (key.revokedAt) return 'revoked';
  if (key.expiresAt && Date.parse(key.expiresAt) <= now.getTime()) return 'expired';
  return 'active';
}

function formatKeyTable(keys: readonly ApiKeyInfo[], now: Date): string {
  const rows = [
    ['ID', 'NAME', 'ROLE', 'GROUPS', 'EXPIRES', 'STATUS'],
    ...keys.map((k) => [k.id, k.name, k.role, k.groups.join(','), k.expiresAt?.replace(/\.\d+Z$/, 'Z') ?? 'never', keyStatus(k, now)]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')}\n`;
}

interface AuditListOptions {
  readonly after?: string;
  readonly limit?: number;
  readonly shard?: number | 'root';
  readonly all?: boolean;
}

/** `--shard 3` or `--shard root`. */
function parseAuditShard(value: string): number | 'root' {
  if (value === 'root') return 'root';
  if (/^(0|[1-9]\d{0,2})$/.test(value) && Number(value) <= 255) return Number(value);
  throw new InvalidArgumentError('Expected a shard number (0-255) or "root".');
}

interface LogsOptions {
  readonly follow?: boolean;
  readonly attempt?: number;
}

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
    ...(options.label === undefined ? {} : { labels: options.label }),
  };
}
