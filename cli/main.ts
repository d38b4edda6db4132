/**
 * The `runplane` command line: wiring only. Each command lives in its own file under commands/
 * (its options, help text and output formats); this file names and describes them, and loads
 * only the one being run, so `runplane --help` never loads zod, the platform or the AWS SDK.
 * The reference for users is specs/07-cli.md.
 *
 * Output contract: human-readable text by default; with `--json`, single results are printed as
 * the API's JSON objects and streams (`--follow`, `logs --json`) as one JSON object per line.
 * Errors go to stderr. Exit codes are in exit-codes.ts.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { DEFAULT_API_URL, parseBaseUrl } from './base-url.ts';
import type { CliIo, GlobalOptions } from './cli-io.ts';
import type { RegisterCommand } from './command-context.ts';
import { EXIT_OK } from './exit-codes.ts';
import { reportError } from './report-error.ts';

export type { CliIo } from './cli-io.ts';

interface CommandEntry {
  readonly name: string;
  readonly alias?: string;
  /** The line in `runplane --help`; the command's file adds the rest of its help. */
  readonly summary: string;
  readonly load: () => Promise<RegisterCommand>;
}

/** Every top-level command, in the order `runplane --help` lists them. */
const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'submit',
    summary: 'submit a job and print its id',
    load: async () => (await import('./commands/submit.ts')).registerSubmit,
  },
  { name: 'get', summary: 'show a job', load: async () => (await import('./commands/get.ts')).registerGet },
  {
    name: 'list',
    alias: 'ls',
    summary: 'list jobs, newest first',
    load: async () => (await import('./commands/list.ts')).registerList,
  },
  {
    name: 'logs',
    summary: "print a job's output (--follow: stream it until the job ends)",
    load: async () => (await import('./commands/logs.ts')).registerLogs,
  },
  {
    name: 'artifacts',
    summary: 'list the files a job stored (--attempt N)',
    load: async () => (await import('./commands/artifacts.ts')).registerArtifacts,
  },
  {
    name: 'download',
    summary: "download a job's artifacts, checksums verified",
    load: async () => (await import('./commands/download.ts')).registerDownload,
  },
  {
    name: 'cancel',
    summary: 'cancel a job: a queued job never starts; a running one is stopped by its worker',
    load: async () => (await import('./commands/cancel.ts')).registerCancel,
  },
  {
    name: 'retry',
    summary: 'run a finished job again as a new attempt',
    load: async () => (await import('./commands/retry.ts')).registerRetry,
  },
  {
    name: 'update',
    summary: "change a queued job's priority: runplane update ID --priority N",
    load: async () => (await import('./commands/update.ts')).registerUpdate,
  },
  {
    name: 'workers',
    summary: 'list the workers that reported in the last minute',
    load: async () => (await import('./commands/workers.ts')).registerWorkers,
  },
  {
    name: 'groups',
    summary: "show groups' quotas, weights and use; `groups set` changes them (admins)",
    load: async () => (await import('./commands/groups/groups.ts')).registerGroups,
  },
  {
    name: 'usage',
    summary: 'usage and cost by group, user, queue or day, like sacct (--from, --to, --by)',
    load: async () => (await import('./commands/usage.ts')).registerUsage,
  },
  {
    name: 'keys',
    summary: 'manage API keys (admins)',
    load: async () => (await import('./commands/keys/keys.ts')).registerKeys,
  },
  {
    name: 'token',
    summary: "mint a JWT signed with the deployment's own key (needs the private key: admins only)",
    load: async () => (await import('./commands/token.ts')).registerToken,
  },
  {
    name: 'audit',
    summary: 'read and verify the tamper-evident audit chain (admins)',
    load: async () => (await import('./commands/audit/audit.ts')).registerAudit,
  },
  {
    name: 'worker',
    summary: 'run a worker on this machine that takes jobs from a queue',
    load: async () => (await import('./commands/worker.ts')).registerWorker,
  },
  {
    name: 'dev',
    summary: 'run the whole platform locally: API, emulated DynamoDB and SQS, and workers',
    load: async () => (await import('./commands/dev.ts')).registerDev,
  },
];

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
    await loadInvokedCommand(program, args, io);
    await program.parseAsync([...args], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    return reportError(error, io, Boolean(program.opts<GlobalOptions>().json));
  }
}

/** The version in the package's package.json: one level up from cli/, two from the bundle in dist/cli/. */
function packageVersion(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'runplane') return pkg.version ?? '0.0.0';
    } catch {
      // Not here: try the next level.
    }
  }
  return '0.0.0';
}

/** The program with its global options and every command named; no command's own file is loaded yet. */
function buildProgram(io: CliIo): Command {
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
  for (const entry of COMMANDS) {
    const command = program.command(entry.name).description(entry.summary);
    if (entry.alias) command.alias(entry.alias);
  }
  return program;
}

/**
 * Loads the file of the command the arguments name (`runplane [globals] <command>`, or
 * `runplane help <command>`) and lets it add its options and action. Nothing is loaded for
 * `runplane --help`, `--version` or an unknown command (commander reports those).
 */
async function loadInvokedCommand(program: Command, args: readonly string[], io: CliIo): Promise<void> {
  const operands = leadingOperands(program, args);
  const name = operands[0] === 'help' ? operands[1] : operands[0];
  if (name === undefined) return;
  const entry = COMMANDS.find((e) => e.name === name || e.alias === name);
  const command = entry && program.commands.find((c) => c.name() === entry.name);
  if (!entry || !command) return;
  // The context pulls in the API client and the credentials lookup: only for a command that runs.
  const [register, { commandContext }] = await Promise.all([entry.load(), import('./command-context.ts')]);
  register(command, commandContext(io));
}

/** The first two operands before any command option, skipping the program's own options and their values. */
function leadingOperands(program: Command, args: readonly string[]): string[] {
  const takesValue = new Set(
    program.options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short].filter(Boolean)),
  );
  const operands: string[] = [];
  for (let i = 0; i < args.length && operands.length < 2; i++) {
    const arg = args[i]!;
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      if (operands.length > 0) break;
      if (takesValue.has(arg)) i++;
      continue;
    }
    operands.push(arg);
  }
  return operands;
}
