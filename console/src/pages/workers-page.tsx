import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import type { WorkerInfo } from '../../../cli/api-client.ts';
import { useClient } from '../api.ts';
import { formatBytes, formatTime } from '../format.ts';
import { ErrorMessage } from '../layout.tsx';

type GpuView = WorkerInfo['gpus'][number];

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
                {w.busySlots} of {w.concurrency} busy{w.draining ? ' · draining' : ''}
              </dd>
              <dt>Last seen</dt>
              <dd>{formatTime(w.lastSeenAt)}</dd>
            </dl>
            <h3>GPUs</h3>
            {w.gpus.length === 0 ? (
              <p className="muted">None.</p>
            ) : (
              <ul className="gpus" aria-label={`GPUs of ${w.workerId}`}>
                {w.gpus.map((g) => (
                  <GpuLine key={g.uuid} gpu={g} />
                ))}
              </ul>
            )}
            <h3>Running jobs</h3>
            {w.runningJobs.length === 0 ? (
              <p className="muted">Idle.</p>
            ) : (
              <ul className="running-jobs">
                {w.runningJobs.map((id) => (
                  <RunningJob key={id} id={id} />
                ))}
              </ul>
            )}
          </section>
        ))}
      </div>
    </section>
  );
}

/** One GPU as nvidia-smi reported it at the worker's last heartbeat; what it did not report is left out. */
function GpuLine({ gpu }: { gpu: GpuView }) {
  const memory = gpu.memoryTotalMiB > 0;
  return (
    <li>
      <span className="mono">#{gpu.index}</span> {gpu.name}
      <br />
      {memory && (
        <span>
          Memory{' '}
          <meter className="meter" min={0} max={gpu.memoryTotalMiB} value={gpu.memoryUsedMiB} aria-label={`GPU ${gpu.index} memory in use`} />{' '}
          {formatBytes(gpu.memoryUsedMiB * 1024 * 1024)} of {formatBytes(gpu.memoryTotalMiB * 1024 * 1024)}
        </span>
      )}
      {gpu.utilizationPercent !== null && (
        <span>
          {memory && ' · '}Utilisation{' '}
          <meter className="meter" min={0} max={100} value={gpu.utilizationPercent} aria-label={`GPU ${gpu.index} utilisation`} />{' '}
          {gpu.utilizationPercent}%
        </span>
      )}
    </li>
  );
}

/** A running job with its name and the GPUs it holds (its own page has the rest). */
function RunningJob({ id }: { id: string }) {
  const client = useClient();
  const job = useQuery({ queryKey: ['job', id], queryFn: () => client.getJob(id), staleTime: 10_000 });
  return (
    <li>
      <Link to={`/jobs/${id}`} className="mono">
        {id}
      </Link>
      {job.data && (
        <span>
          {' '}
          {job.data.name ?? ''} · {job.data.resources.gpus} GPU · {job.data.owner}
        </span>
      )}
    </li>
  );
}
