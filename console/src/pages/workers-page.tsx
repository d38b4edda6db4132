import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import type { WorkerInfo } from '../../../cli/api-client.ts';
import { useClient } from '../api.ts';
import { formatTime } from '../format.ts';
import { ErrorMessage } from '../layout.tsx';

/** GPU fields newer workers may report (utilisation); shown when present. */
type GpuView = WorkerInfo['gpus'][number] & { utilizationPercent?: number };

export function WorkersPage() {
  const client = useClient();
  const workers = useQuery({ queryKey: ['workers'], queryFn: () => client.listWorkers(), refetchInterval: 5_000 });
  return (
    <section aria-labelledby="workers-title">
      <h1 id="workers-title">Workers</h1>
      <p className="muted">Workers that reported in the last minute.</p>
      {workers.error && <ErrorMessage error={workers.error} />}
      {workers.data && workers.data.workers.length === 0 && <p>No worker is running.</p>}
      <div className="cards">
        {workers.data?.workers.map((w) => (
          <section key={w.workerId} className="panel" aria-labelledby={`worker-${w.workerId}`}>
            <h2 id={`worker-${w.workerId}`} className="mono">
              {w.workerId}
            </h2>
            <dl className="facts">
              <dt>Queue</dt>
              <dd>{w.pool}</dd>
              <dt>Host</dt>
              <dd>
                {w.hostname} (pid {w.pid})
              </dd>
              <dt>Slots</dt>
              <dd>
                {w.runningJobs.length} of {w.concurrency} busy{w.draining ? ' · draining' : ''}
              </dd>
              <dt>Last seen</dt>
              <dd>{formatTime(w.lastSeenAt)}</dd>
            </dl>
            <h3>GPUs</h3>
            {w.gpus.length === 0 ? (
              <p className="muted">None.</p>
            ) : (
              <ul>
                {(w.gpus as GpuView[]).map((g) => (
                  <li key={g.uuid}>
                    #{g.index} {g.name} — {g.memoryUsedMiB} / {g.memoryTotalMiB} MiB
                    {g.utilizationPercent !== undefined && ` · ${g.utilizationPercent}% busy`}
                  </li>
                ))}
              </ul>
            )}
            <h3>Running jobs</h3>
            {w.runningJobs.length === 0 ? (
              <p className="muted">Idle.</p>
            ) : (
              <ul>
                {w.runningJobs.map((id) => (
                  <li key={id}>
                    <Link to={`/jobs/${id}`} className="mono">
                      {id}
                    </Link>
                  </li>
                ))}
              </ul>
            )}
          </section>
        ))}
      </div>
    </section>
  );
}
