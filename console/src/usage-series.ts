import type { UsageRow } from '../../core/usage/usage-report.ts';

/** One row of `GET /v1/usage` (issue 11): the API's own type. */
export type { UsageRow };

export interface UsageReport {
  readonly by: 'day' | 'group' | 'user' | 'queue';
  readonly from: string;
  readonly to: string;
  readonly rows: readonly UsageRow[];
  readonly idle: { readonly instanceSeconds: number; readonly costUsd: number } | null;
}

const DAY_S = 24 * 3600;
const DAY_KEY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Per-day rows as the chart's columns: UTC midnights (seconds, as uPlot takes x), GPU-hours and
 * cost, with days that had no attempt filled in as zeros so the bars stand at their dates.
 * With the report's window, every day of it is a column (one day of use still reads as a day,
 * not as a point on an axis stretched over years). Rows whose key is not a day are left out.
 */
export function dailySeries(
  rows: readonly UsageRow[],
  window?: { readonly from: string; readonly to: string },
): { days: number[]; gpuHours: number[]; costUsd: number[] } {
  const byDay = new Map<number, UsageRow>();
  for (const row of rows) {
    if (!DAY_KEY.test(row.key)) continue;
    const t = Date.parse(`${row.key}T00:00:00Z`) / 1000;
    if (Number.isFinite(t)) byDay.set(t, row);
  }
  const days: number[] = [];
  const gpuHours: number[] = [];
  const costUsd: number[] = [];
  const edges = window ? [utcMidnight(window.from), utcMidnight(new Date(Date.parse(window.to) - 1).toISOString())] : [];
  const known = [...byDay.keys(), ...edges.filter(Number.isFinite)];
  if (byDay.size === 0 || known.length === 0) return { days, gpuHours, costUsd };
  const first = Math.min(...known);
  const last = Math.max(...known);
  for (let t = first; t <= last; t += DAY_S) {
    const row = byDay.get(t);
    days.push(t);
    gpuHours.push((row?.gpuSeconds ?? 0) / 3600);
    costUsd.push(row?.costUsd ?? 0);
  }
  return { days, gpuHours, costUsd };
}

/** The totals row under the table. */
export function usageTotals(rows: readonly UsageRow[]): Omit<UsageRow, 'key'> {
  return rows.reduce(
    (sum, r) => ({
      jobs: sum.jobs + r.jobs,
      attempts: sum.attempts + r.attempts,
      wallSeconds: sum.wallSeconds + r.wallSeconds,
      gpuSeconds: sum.gpuSeconds + r.gpuSeconds,
      cpuSeconds: sum.cpuSeconds + r.cpuSeconds,
      costUsd: sum.costUsd + r.costUsd,
    }),
    { jobs: 0, attempts: 0, wallSeconds: 0, gpuSeconds: 0, cpuSeconds: 0, costUsd: 0 },
  );
}

function utcMidnight(iso: string): number {
  return Date.parse(`${iso.slice(0, 10)}T00:00:00Z`) / 1000;
}
