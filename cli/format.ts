/**
 * Human-readable rendering for the CLI. Pure functions from API values to strings, so the output
 * is tested without a terminal; `--json` bypasses all of this and prints the API's objects.
 */
import { isTerminal } from './terminal-states.ts';
import type { ApiJob } from './api-client.ts';

const DASH = '-';

/** ISO-8601 in UTC to the second (`2026-01-01T00:00:10Z`): sortable, unambiguous across time zones. */
export function formatTimestamp(iso: string | null | undefined): string {
  if (!iso) return DASH;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `1h 2m 3s`, `45s`, `250ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  let seconds = Math.floor(ms / 1000);
  const days = Math.floor(seconds / 86_400);
  seconds -= days * 86_400;
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  const parts: string[] = [];
  if (days) parts.push(`${days}d`);
  if (hours) parts.push(`${hours}h`);
  if (minutes) parts.push(`${minutes}m`);
  if (seconds || parts.length === 0) parts.push(`${seconds}s`);
  return parts.join(' ');
}

// Characters a POSIX shell leaves alone; anything else gets the argument single-quoted.
const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** An argv as a line one could paste into a shell (display only: jobs never run through a shell). */
export function quoteArgv(argv: readonly string[]): string {
  return argv.map((arg) => (SHELL_SAFE.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)).join(' ');
}

function truncate(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

/** Left-aligned columns separated by two spaces; trailing spaces trimmed. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** The `list` table: ID, STATE, QUEUE, NAME, CREATED, EXIT. */
export function formatJobTable(jobs: readonly ApiJob[]): string {
  return formatTable(
    ['ID', 'STATE', 'QUEUE', 'NAME', 'CREATED', 'EXIT'],
    jobs.map((job) => [
      job.id,
      job.state,
      job.queue,
      job.name ? truncate(job.name, 40) : DASH,
      formatTimestamp(job.createdAt),
      job.exitCode === null || job.exitCode === undefined ? DASH : String(job.exitCode),
    ]),
  );
}

function formatPairs(record: Readonly<Record<string, string>>): string {
  const entries = Object.entries(record);
  return entries.length === 0 ? DASH : entries.map(([k, v]) => `${k}=${v}`).join(' ');
}

/** The state with its reason, or for a waiting job why it waits, and a pending cancel. */
export function formatState(job: ApiJob): string {
  const notes: string[] = [];
  if (job.reason) notes.push(job.reason);
  else if (job.state === 'QUEUED' && job.hold) notes.push(`held: ${job.hold.message}`);
  else if (job.state === 'QUEUED' && job.waitingReason) notes.push(`waiting: ${job.waitingReason}`);
  if (job.cancelRequested && !isTerminal(job.state)) notes.push('cancel requested');
  return notes.length > 0 ? `${job.state} (${notes.join('; ')})` : job.state;
}

/**
 * The `get` block. Environment values are not shown (they often hold secrets and terminals get
 * shared); `--json` prints them.
 */
export function formatJobDetails(job: ApiJob, now: Date = new Date()): string {
  const rows: [string, string][] = [
    ['ID', job.id],
    ['Name', job.name ?? DASH],
    ['State', formatState(job)],
    ['Queue', job.queue],
    ['Owner', `${job.owner} (group ${job.group})`],
    ['Command', quoteArgv(job.command)],
    [
      'Env',
      Object.keys(job.env).length === 0
        ? DASH
        : `${Object.keys(job.env).join(' ')} (values hidden; use --json)`,
    ],
    ['Labels', formatPairs(job.labels)],
    ['Depends on', formatDependencies(job)],
    ['Resources', `gpus=${job.resources.gpus} cpu=${job.resources.cpu} memory=${job.resources.memoryMiB}MiB`],
    ['Timeout', formatDuration(job.timeoutSeconds * 1000)],
    ['Attempt', `${job.attempt} of ${job.maxAttempts}`],
    ['Exit code', job.exitCode === null || job.exitCode === undefined ? DASH : String(job.exitCode)],
    ['Created', formatTimestamp(job.createdAt)],
    ['Started', formatTimestamp(job.startedAt)],
    ['Finished', formatTimestamp(job.finishedAt)],
  ];
  if (job.startedAt) {
    const end = job.finishedAt ? new Date(job.finishedAt) : now;
    const label = job.finishedAt ? 'Duration' : 'Running for';
    rows.push([label, formatDuration(end.getTime() - new Date(job.startedAt).getTime())]);
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  let out = rows.map(([label, value]) => `${`${label}:`.padEnd(width + 2)}${value}`).join('\n') + '\n';

  if (job.attempts.length > 0) {
    out += '\nAttempts:\n';
    out += indent(
      formatTable(
        ['#', 'WORKER', 'STARTED', 'FINISHED', 'EXIT', 'REASON'],
        job.attempts.map((a) => [
          String(a.attempt),
          a.workerId,
          formatTimestamp(a.startedAt),
          formatTimestamp(a.finishedAt),
          a.exitCode === null || a.exitCode === undefined ? DASH : String(a.exitCode),
          a.reason ?? DASH,
        ]),
      ),
    );
  }
  if (job.history.length > 0) {
    out += '\nHistory:\n';
    out += indent(
      formatTable(
        ['AT', 'FROM', 'TO', 'REASON'],
        job.history.map((h) => [formatTimestamp(h.at), h.from ?? DASH, h.to, h.reason]),
      ),
    );
  }
  return out;
}

/** `afterok:ID, afterany:ID` in Slurm's words; what a held job still waits for is its state's note. */
function formatDependencies(job: ApiJob): string {
  const deps = job.dependsOn ?? [];
  if (deps.length === 0) return DASH;
  return deps.map((d) => `${d.type}:${d.job}`).join(', ');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => (line ? `  ${line}` : line))
    .join('\n');
}

/** The one line `--wait` prints to stderr when a job ends: `job 01J… FAILED: exited with code 3`. */
export function formatFinalStatus(job: ApiJob): string {
  const why =
    job.reason ??
    (job.exitCode === null || job.exitCode === undefined ? undefined : `exit code ${job.exitCode}`);
  return `job ${job.id} ${job.state}${why ? `: ${why}` : ''}\n`;
}
