import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { lazy, Suspense, useMemo, useState } from 'react';
import { useClient } from '../api.ts';
import { QueryProblem } from '../components/not-available.tsx';
import { TableRegion } from '../components/table-region.tsx';
import { formatCost, formatDuration, formatGpuHours, formatTime } from '../format.ts';
import { usageTotals, type UsageReport } from '../usage-series.ts';

// The chart library loads only when there is a chart to draw.
const UsageChart = lazy(() => import('../components/usage-chart.tsx'));

type Grouping = UsageReport['by'];
const PERIODS = [7, 30, 90, 365] as const;

export function UsagePage() {
  const client = useClient();
  const [by, setBy] = useState<Grouping>('day');
  const [days, setDays] = useState<(typeof PERIODS)[number]>(30);
  const [group, setGroup] = useState('');
  const [user, setUser] = useState('');
  // The window's start is fixed per choice of period, so a refetch asks for the same report.
  const from = useMemo(() => new Date(Date.now() - days * 24 * 3600 * 1000).toISOString(), [days]);
  const usage = useQuery({
    queryKey: ['usage', by, from, group, user],
    queryFn: () =>
      client.get<UsageReport>('/v1/usage', { by, from, ...(group.trim() ? { group: group.trim() } : {}), ...(user.trim() ? { user: user.trim() } : {}) }),
    placeholderData: keepPreviousData,
    refetchInterval: 30_000,
  });
  const report = usage.data;
  const rows = report?.rows ?? [];
  const totals = usageTotals(rows);
  return (
    <section aria-labelledby="usage-title">
      <h1 id="usage-title">Usage</h1>
      <form className="filters" aria-label="Usage report" onSubmit={(e) => e.preventDefault()}>
        <label>
          Group by
          <select value={by} onChange={(e) => setBy(e.target.value as Grouping)}>
            <option value="day">day</option>
            <option value="group">group</option>
            <option value="user">user</option>
            <option value="queue">queue</option>
          </select>
        </label>
        <label>
          Period
          <select value={days} onChange={(e) => setDays(Number(e.target.value) as (typeof PERIODS)[number])}>
            {PERIODS.map((d) => (
              <option key={d} value={d}>
                last {d} days
              </option>
            ))}
          </select>
        </label>
        <label>
          Group
          <input value={group} placeholder="all yours" onChange={(e) => setGroup(e.target.value)} />
        </label>
        <label>
          User
          <input value={user} placeholder="everyone" onChange={(e) => setUser(e.target.value)} />
        </label>
      </form>
      {usage.error && <QueryProblem error={usage.error} feature="Usage and cost reports" />}
      {report && (
        <>
          <p className="muted">
            Attempts that ended from {formatTime(report.from)} to {formatTime(report.to)}.
          </p>
          {report.by === 'day' && rows.length > 0 && (
            <Suspense fallback={<p className="muted">Loading the chart…</p>}>
              <UsageChart rows={rows} from={report.from} to={report.to} />
            </Suspense>
          )}
          <TableRegion label="Usage table">
            <table>
              <thead>
                <tr>
                  <th scope="col">{report.by}</th>
                  <th scope="col">Jobs</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Wall time</th>
                  <th scope="col">GPU time</th>
                  <th scope="col">CPU time</th>
                  <th scope="col">Cost</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.key}>
                    <th scope="row">{r.key}</th>
                    <td>{r.jobs}</td>
                    <td>{r.attempts}</td>
                    <td>{formatDuration(r.wallSeconds)}</td>
                    <td>{formatGpuHours(r.gpuSeconds)}</td>
                    <td>{formatDuration(r.cpuSeconds)}</td>
                    <td>{formatCost(r.costUsd)}</td>
                  </tr>
                ))}
                {rows.length === 0 && (
                  <tr>
                    <td colSpan={7}>No attempt ended in this period.</td>
                  </tr>
                )}
              </tbody>
              {rows.length > 1 && (
                <tfoot>
                  <tr>
                    <th scope="row">Total</th>
                    <td>{totals.jobs}</td>
                    <td>{totals.attempts}</td>
                    <td>{formatDuration(totals.wallSeconds)}</td>
                    <td>{formatGpuHours(totals.gpuSeconds)}</td>
                    <td>{formatDuration(totals.cpuSeconds)}</td>
                    <td>{formatCost(totals.costUsd)}</td>
                  </tr>
                </tfoot>
              )}
            </table>
          </TableRegion>
          {report.idle && (
            <p aria-label="Idle capacity">
              <strong>Idle capacity:</strong> {formatDuration(report.idle.instanceSeconds)} of instance time no job held, costing{' '}
              {formatCost(report.idle.costUsd)}.
            </p>
          )}
        </>
      )}
    </section>
  );
}
