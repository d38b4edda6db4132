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

/** The `list` table: ID, STATE, QUEUE, NAME, CREATED, EXIT, WAITING (a queued job's code and place in line). */
export function formatJobTable(jobs: readonly ApiJob[]): string {
  return formatTable(
    ['ID', 'STATE', 'QUEUE', 'NAME', 'CREATED', 'EXIT', 'WAITING'],
    jobs.map((job) => [
      job.id,
      job.state,
      job.queue,
      job.name ? truncate(job.name, 40) : DASH,
      formatTimestamp(job.createdAt),
      job.exitCode === null || job.exitCode === undefined ? DASH : String(job.exitCode),
      job.waiting ? `${job.waiting.code}${job.waiting.position === null ? '' : ` #${job.waiting.position}`}` : DASH,
    ]),
  );
}

/** Why a queued job waits, with its place in line when known: `Resources (#1 in line): waiting for ...`. */
export function formatWaiting(waiting: NonNullable<ApiJob['waiting']>): string {
  const place = waiting.position === null ? '' : `, #${waiting.position} in line`;
  return `${waiting.code} since ${formatTimestamp(waiting.since)}${place}: ${waiting.message}`;
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
  else if (job.state === 'QUEUED' && job.waiting) notes.push(`waiting: ${formatWaiting(job.waiting)}`);
  else if (job.state === 'QUEUED' && job.waitingReason) notes.push(`waiting: ${job.waitingReason}`);
  if (job.cancelRequested && !isTerminal(job.state)) notes.push('cancel requested');
  return notes.length > 0 ? `${job.state} (${notes.join('; ')})` : job.state;
}

type ArrayCounts = NonNullable<ApiJob['arrayStatus']>;

/** An array's one-line progress: `12/50 done (10 SUCCEEDED, 2 FAILED), 5 RUNNING, 33 QUEUED`. */
export function formatArrayProgress(status: ArrayCounts): string {
  const done = status.SUCCEEDED + status.FAILED + status.CANCELLED + status.TIMED_OUT;
  const ended = (['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'] as const).filter((s) => status[s] > 0).map((s) => `${status[s]} ${s}`);
  const waiting = (['RUNNING', 'QUEUED'] as const).filter((s) => status[s] > 0).map((s) => `${status[s]} ${s}`);
  return [`${done}/${status.total} done${ended.length > 0 ? ` (${ended.join(', ')})` : ''}`, ...waiting].join(', ');
}

/** The progress line with a bar, for `--wait`: `[######--------------]  30% 15/50 done …`. */
export function formatArrayProgressBar(status: ArrayCounts, width = 20): string {
  const done = status.SUCCEEDED + status.FAILED + status.CANCELLED + status.TIMED_OUT;
  const filled = status.total === 0 ? width : Math.floor((done / status.total) * width);
  const percent = status.total === 0 ? 100 : Math.floor((done / status.total) * 100);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(percent).padStart(3)}% ${formatArrayProgress(status)}`;
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
    ['Priority', String(job.priority ?? 0)],
    ['Timeout', formatDuration(job.timeoutSeconds * 1000)],
    ...(job.arrayStatus
      ? ([['Array', `${formatArrayProgress(job.arrayStatus)}${job.array?.parallelism ? `; at most ${job.array.parallelism} at once` : ''}`]] as [string, string][])
      : ([['Attempt', `${job.attempt} of ${job.maxAttempts}`]] as [string, string][])),
    ...(job.arrayParent ? ([['Array child', `${job.arrayIndex} of array ${job.arrayParent}`]] as [string, string][]) : []),
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
  if (job.usage) rows.push(['Usage', formatUsage(job.usage)]);
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

/** A job's summed usage on one line: `wall 1m 2s, 0.034 GPU-h, CPU 5s, peak 80 MiB, $0.0012`. */
export function formatUsage(u: NonNullable<ApiJob['usage']>): string {
  return [
    `wall ${formatDuration(u.wallSeconds * 1000)}`,
    `${(u.gpuSeconds / 3600).toFixed(3)} GPU-h`,
    `CPU ${u.cpuSeconds === null ? 'unknown' : formatDuration(u.cpuSeconds * 1000)}`,
    `peak ${u.peakMemoryBytes === null ? 'unknown' : `${Math.round(u.peakMemoryBytes / 2 ** 20)} MiB`}`,
    `$${u.costUsd.toFixed(4)}`,
  ].join(', ');
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
