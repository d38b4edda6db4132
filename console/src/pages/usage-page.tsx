import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useClient } from '../api.ts';
import { QueryProblem } from '../components/not-available.tsx';
import { UsageChart } from '../components/usage-chart.tsx';
import { formatCost } from '../format.ts';
import { TableRegion } from '../components/table-region.tsx';

/** One row of `GET /v1/usage?by=…` as issue 11 specifies it. */
export interface UsageRow {
  readonly key: string;
  readonly gpuSeconds?: number;
  readonly wallSeconds?: number;
  readonly costUsd?: number;
  readonly jobs?: number;
}

export function UsagePage() {
  const client = useClient();
  const [by, setBy] = useState<'day' | 'group' | 'user' | 'queue'>('day');
  const usage = useQuery({ queryKey: ['usage', by], queryFn: () => client.get<{ usage: UsageRow[] }>('/v1/usage', { by }) });
  const rows = usage.data?.usage ?? [];
  return (
    <section aria-labelledby="usage-title">
      <h1 id="usage-title">Usage</h1>
      <label>
        Group by
        <select value={by} onChange={(e) => setBy(e.target.value as typeof by)}>
          <option value="day">day</option>
          <option value="group">group</option>
          <option value="user">user</option>
          <option value="queue">queue</option>
        </select>
      </label>
      {usage.error && <QueryProblem error={usage.error} feature="Usage and cost reports" />}
      {by === 'day' && rows.length > 0 && <UsageChart rows={rows} />}
      {usage.data && (
        <TableRegion label="Usage table">
          <table>
            <thead>
              <tr>
                <th scope="col">{by}</th>
                <th scope="col">GPU-hours</th>
                <th scope="col">Jobs</th>
                <th scope="col">Cost</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.key}>
                  <td>{r.key}</td>
                  <td>{((r.gpuSeconds ?? 0) / 3600).toFixed(2)}</td>
                  <td>{r.jobs ?? '—'}</td>
                  <td>{formatCost(r.costUsd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
    </section>
  );
}
