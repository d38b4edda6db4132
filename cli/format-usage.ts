/**
 * The `runplane usage` table, in the manner of Slurm's `sacct`: one line per key with elapsed and
 * CPU time as [D-]HH:MM:SS, GPU-hours and cost, a TOTAL line, and for admins an `(idle)` line of
 * instance time no job held. Pure: tested without a terminal.
 */
import type { UsageReportBody } from './api-client.ts';

/** Seconds as `[D-]HH:MM:SS`, as sacct prints elapsed time. */
export function formatElapsed(totalSeconds: number): string {
  let s = Math.round(totalSeconds);
  const days = Math.floor(s / 86_400);
  s -= days * 86_400;
  const hh = String(Math.floor(s / 3600)).padStart(2, '0');
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `${days > 0 ? `${days}-` : ''}${hh}:${mm}:${ss}`;
}

const usd = (n: number) => n.toFixed(4);
const gpuHours = (seconds: number) => (seconds / 3600).toFixed(3);

export function formatUsageReport(report: UsageReportBody): string {
  const header = [report.by.toUpperCase(), 'JOBS', 'ATTEMPTS', 'ELAPSED', 'GPU-HOURS', 'CPU-TIME', 'COST-USD'];
  const line = (key: string, r: { jobs: number; attempts: number; wallSeconds: number; gpuSeconds: number; cpuSeconds: number; costUsd: number }) => [
    key,
    String(r.jobs),
    String(r.attempts),
    formatElapsed(r.wallSeconds),
    gpuHours(r.gpuSeconds),
    formatElapsed(r.cpuSeconds),
    usd(r.costUsd),
  ];
  const total = report.rows.reduce(
    (t, r) => ({
      jobs: t.jobs + r.jobs,
      attempts: t.attempts + r.attempts,
      wallSeconds: t.wallSeconds + r.wallSeconds,
      gpuSeconds: t.gpuSeconds + r.gpuSeconds,
      cpuSeconds: t.cpuSeconds + r.cpuSeconds,
      costUsd: t.costUsd + r.costUsd,
    }),
    { jobs: 0, attempts: 0, wallSeconds: 0, gpuSeconds: 0, cpuSeconds: 0, costUsd: 0 },
  );
  const rows = report.rows.map((r) => line(r.key, r));
  // Jobs can appear under several days: the total counts attempts, not distinct jobs, for `day`.
  if (rows.length > 1) rows.push(line('TOTAL', total).map((cell, i) => (i === 1 && report.by === 'day' ? '-' : cell)));
  if (report.idle) rows.push(['(idle)', '-', '-', formatElapsed(report.idle.instanceSeconds), '-', '-', usd(report.idle.costUsd)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join(' ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join(' ');
  const window = `usage of attempts ended ${report.from.replace(/\.\d{3}Z$/, 'Z')} .. ${report.to.replace(/\.\d{3}Z$/, 'Z')}, by ${report.by}`;
  if (report.rows.length === 0 && !report.idle) return `${window}\nno attempts ended in this window\n`;
  return [window, render(header), rule, ...rows.map(render)].join('\n') + '\n';
}
