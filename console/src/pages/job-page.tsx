import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type MouseEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { describeError, isNotAvailable, useClient } from '../api.ts';
import { LogView } from '../components/log-view.tsx';
import { StateBadge } from '../components/state-badge.tsx';
import { downloadWithToken } from '../download.ts';
import { ArrayChildren } from '../components/array-children.tsx';
import { ArrayProgress } from '../components/array-progress.tsx';
import { PriorityControl } from '../components/priority-control.tsx';
import { formatBytes, formatCost, formatDuration, formatGpuHours, formatTime, jobDuration } from '../format.ts';
import { copySpecOf, isFinished, jobCost, waitingText, type ConsoleJob, type Usage } from '../job-fields.ts';
import { ErrorMessage } from '../layout.tsx';
import { useJobOutput } from '../use-job-output.ts';
import { TableRegion } from '../components/table-region.tsx';

interface Artifact {
  readonly path: string;
  readonly size: number;
  readonly sha256?: string;
  readonly attempt: number;
  readonly createdAt?: string;
}

export function JobPage() {
  const { id = '' } = useParams();
  const client = useClient();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [follow, setFollow] = useState(true);
  const [chosenAttempt, setChosenAttempt] = useState<number | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);

  const job = useQuery({
    queryKey: ['job', id],
    queryFn: () => client.getJob(id) as Promise<ConsoleJob>,
    refetchInterval: (q) => (q.state.data && isFinished(q.state.data.state) ? false : 2_000),
  });
  const data = job.data;
  const attempt = chosenAttempt ?? data?.attempt ?? 0;
  const live = data !== undefined && !isFinished(data.state) && attempt === data.attempt;
  const output = useJobOutput(client, id, attempt, live);

  const artifacts = useQuery({
    queryKey: ['artifacts', id, attempt],
    queryFn: () => client.get<{ artifacts: Artifact[] }>(`/v1/jobs/${encodeURIComponent(id)}/artifacts`, { attempt }),
    enabled: data !== undefined && attempt > 0,
    refetchInterval: live ? 10_000 : false,
  });

  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['job', id] });
  const cancel = useMutation({ mutationFn: () => client.cancelJob(id), onSuccess: refresh, onError: setActionError });
  const retry = useMutation({
    mutationFn: () => client.retryJob(id),
    onSuccess: (retried) => {
      setChosenAttempt(null);
      queryClient.setQueryData(['job', id], retried);
      refresh();
    },
    onError: setActionError,
  });

  if (job.error) {
    return (
      <section aria-labelledby="job-title">
        <h1 id="job-title">Job {id}</h1>
        <ErrorMessage error={job.error} />
        <Link to="/">Back to the jobs</Link>
      </section>
    );
  }
  if (!data) return <p aria-live="polite">Loading job {id}…</p>;

  const download = (event: MouseEvent) => {
    event.preventDefault();
    downloadWithToken(client, `/v1/jobs/${encodeURIComponent(id)}/logs`, { attempt }, `${id}-attempt-${attempt}.log`).catch(
      setActionError,
    );
  };
  const waiting = waitingText(data);
  const cost = jobCost(data);

  return (
    <article aria-labelledby="job-title">
      <div className="title-row">
        <h1 id="job-title">
          {data.name ?? 'Job'} <span className="mono small">{data.id}</span>
        </h1>
        <div className="actions">
          <button type="button" disabled={isFinished(data.state) || data.cancelRequested || cancel.isPending} onClick={() => cancel.mutate()}>
            Cancel
          </button>
          <button type="button" disabled={!isFinished(data.state) || retry.isPending} onClick={() => retry.mutate()}>
            Retry
          </button>
          <button type="button" onClick={() => void navigate('/submit', { state: { copyOf: copySpecOf(data) } })}>
            Submit a copy
          </button>
        </div>
      </div>
      {actionError !== null && (
        <p role="alert" className="error">
          {describeError(actionError)}
        </p>
      )}
      <section aria-labelledby="state-title" className="panel">
        <h2 id="state-title">State</h2>
        <p className="state-line">
          <StateBadge state={data.state} />
          {data.reason && <span> {data.reason}</span>}
          {data.exitCode !== null && !(data.reason ?? '').includes(`code ${data.exitCode}`) && <span> · exit code {data.exitCode}</span>}
          {data.cancelRequested && data.state === 'RUNNING' && <span> · cancel requested by {data.cancelRequestedBy}</span>}
        </p>
        {data.state === 'QUEUED' && data.waiting ? (
          <div className="notice" role="status" aria-label="Why it waits">
            <p>
              <strong>Why it waits:</strong> {data.waiting.message}{' '}
              <span className="badge waiting">{data.waiting.code}</span>
            </p>
            <p className="muted small">
              Since {formatTime(data.waiting.since)}
              {data.waiting.position !== null && <> · number {data.waiting.position} in line in its queue</>}
            </p>
          </div>
        ) : (
          waiting &&
          data.state === 'QUEUED' && (
            <p>
              <strong>Why it waits:</strong> {waiting}
            </p>
          )
        )}
        {data.retryAt && data.state === 'QUEUED' && <p>Retries at {formatTime(data.retryAt)}.</p>}
        <dl className="facts">
          <dt>Queue</dt>
          <dd>{data.queue}</dd>
          <dt>Group</dt>
          <dd>{data.group}</dd>
          <dt>Owner</dt>
          <dd>{data.owner}</dd>
          {/* An array parent never runs itself: its children have the attempts. */}
          {!data.arrayStatus && (
            <>
              <dt>Attempt</dt>
              <dd>
                {data.attempt} of {data.maxAttempts}
              </dd>
            </>
          )}
          <dt>Submitted</dt>
          <dd>{formatTime(data.createdAt)}</dd>
          <dt>Started</dt>
          <dd>{formatTime(data.startedAt)}</dd>
          <dt>Finished</dt>
          <dd>{formatTime(data.finishedAt)}</dd>
          <dt>Duration</dt>
          <dd>{jobDuration(data)}</dd>
          <dt>Timeout</dt>
          <dd>{formatDuration(data.timeoutSeconds)}</dd>
          <dt>Resources</dt>
          <dd>
            {data.resources.gpus} GPU · {data.resources.cpu} CPU · {data.resources.memoryMiB} MiB
          </dd>
          {data.priority !== undefined && (
            <>
              <dt>Priority</dt>
              <dd>{data.priority}</dd>
            </>
          )}
          {data.usage !== undefined && (
            <>
              <dt>Cost</dt>
              <dd>{formatCost(cost)}</dd>
              <dt>Usage</dt>
              <dd>{data.usage ? usageLine(data.usage) : 'none yet (counted when an attempt ends)'}</dd>
            </>
          )}
        </dl>
        {data.priority !== undefined && data.state === 'QUEUED' && <PriorityControl key={data.priority} jobId={data.id} priority={data.priority} />}
      </section>

      <ArrayAndDependencies job={data} />

      <section aria-labelledby="command-title" className="panel">
        <h2 id="command-title">Command</h2>
        <ol className="argv" aria-label="Arguments">
          {data.command.map((arg, i) => (
            <li key={i} className="mono">
              {arg}
            </li>
          ))}
        </ol>
        <h3>Environment</h3>
        <EnvList env={data.env} />
        <h3>Labels</h3>
        {Object.keys(data.labels).length === 0 ? (
          <p className="muted">None.</p>
        ) : (
          <ul className="labels">
            {Object.entries(data.labels).map(([k, v]) => (
              <li key={k}>
                <span className="mono">{k}</span>={v}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="output-title" className="panel">
        <div className="title-row">
          <h2 id="output-title">Output</h2>
          <div className="actions">
            {data.attempt > 1 && (
              <label>
                Attempt
                <select value={attempt} onChange={(e) => setChosenAttempt(Number(e.target.value))}>
                  {Array.from({ length: data.attempt }, (_, i) => i + 1).map((n) => (
                    <option key={n} value={n}>
                      {n}
                    </option>
                  ))}
                </select>
              </label>
            )}
            <label className="inline">
              <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
            </label>
            {attempt > 0 && (
              <a href={`/v1/jobs/${encodeURIComponent(id)}/logs?attempt=${attempt}`} onClick={download}>
                Download log
              </a>
            )}
          </div>
        </div>
        {output.error && (
          <p role="alert" className="error">
            {output.error}
          </p>
        )}
        {attempt === 0 ? (
          <p className="muted">{data.arrayStatus ? 'An array has no output of its own: each child has its own (open one below).' : 'The job has not started yet.'}</p>
        ) : (
          <LogView lines={output.buffer.lines} version={output.version} follow={follow} />
        )}
        <p className="muted small">
          {output.buffer.lines.length} line(s); <span className="legend-stderr">err</span> marks stderr.
        </p>
      </section>

      <section aria-labelledby="artifacts-title" className="panel">
        <h2 id="artifacts-title">Artifacts</h2>
        <Artifacts jobId={id} query={artifacts} onError={setActionError} />
      </section>

      <section aria-labelledby="timeline-title" className="panel">
        <h2 id="timeline-title">Timeline</h2>
        <ol className="timeline">
          {data.history.map((change, i) => (
            <li key={i}>
              <time dateTime={change.at}>{formatTime(change.at)}</time> {change.from ?? 'submitted'} → <strong>{change.to}</strong>
              {change.reason && <> — {change.reason}</>}
            </li>
          ))}
        </ol>
        <h3>Attempts</h3>
        {data.attempts.length === 0 ? (
          <p className="muted">None yet.</p>
        ) : (
          <TableRegion label="Attempts">
            <table>
              <thead>
                <tr>
                  <th scope="col">Attempt</th>
                  <th scope="col">Worker</th>
                  <th scope="col">Started</th>
                  <th scope="col">Finished</th>
                  <th scope="col">Exit code</th>
                  <th scope="col">Reason</th>
                  {data.usage !== undefined && (
                    <>
                      <th scope="col">Usage</th>
                      <th scope="col">Cost</th>
                    </>
                  )}
                </tr>
              </thead>
              <tbody>
                {data.attempts.map((a) => (
                  <tr key={a.attempt}>
                    <td>{a.attempt}</td>
                    <td className="mono">{a.workerId}</td>
                    <td>{formatTime(a.startedAt)}</td>
                    <td>{formatTime(a.finishedAt)}</td>
                    <td>{a.exitCode ?? '—'}</td>
                    <td>{a.reason ?? '—'}</td>
                    {data.usage !== undefined && (
                      <>
                        <td>{a.usage ? usageLine(a.usage) : '—'}</td>
                        <td>{formatCost(a.usage?.costUsd)}</td>
                      </>
                    )}
                  </tr>
                ))}
                {data.usage && data.attempts.length > 1 && (
                  <tr>
                    <th scope="row" colSpan={6}>
                      Total
                    </th>
                    <td>{usageLine(data.usage)}</td>
                    <td>{formatCost(data.usage.costUsd)}</td>
                  </tr>
                )}
              </tbody>
            </table>
          </TableRegion>
        )}
      </section>
    </article>
  );
}

/** Names are shown; each value only when asked for, so a screen share does not leak a secret. */
function EnvList({ env }: { env: Readonly<Record<string, string>> }) {
  const [shown, setShown] = useState<ReadonlySet<string>>(new Set());
  const names = Object.keys(env).sort();
  if (names.length === 0) return <p className="muted">None.</p>;
  return (
    <ul className="env">
      {names.map((name) => (
        <li key={name}>
          <span className="mono">{name}</span>=
          {shown.has(name) ? (
            <span className="mono">{env[name]}</span>
          ) : (
            <button type="button" className="link" onClick={() => setShown(new Set([...shown, name]))} aria-label={`Show the value of ${name}`}>
              show value
            </button>
          )}
        </li>
      ))}
    </ul>
  );
}

/** Wall, GPU and CPU time and peak memory in one line (cost has a column of its own). */
function usageLine(usage: Usage): string {
  return [
    `${formatDuration(usage.wallSeconds)} wall`,
    formatGpuHours(usage.gpuSeconds),
    usage.cpuSeconds === null ? 'CPU not measured' : `${formatDuration(usage.cpuSeconds)} CPU`,
    usage.peakMemoryBytes === null ? null : `peak ${formatBytes(usage.peakMemoryBytes)}`,
  ]
    .filter(Boolean)
    .join(' · ');
}

function ArrayAndDependencies({ job }: { job: ConsoleJob }) {
  const dependsOn = job.dependsOn ?? [];
  if (!job.arrayStatus && !job.arrayParent && dependsOn.length === 0) return null;
  return (
    <>
      {job.arrayStatus && (
        <section aria-labelledby="array-title" className="panel">
          <h2 id="array-title">Array</h2>
          <p className="muted">
            {job.array?.size ?? job.arrayStatus.total} children
            {job.array?.parallelism ? `, at most ${job.array.parallelism} running at once` : ', no limit on how many run at once'}.
          </p>
          <ArrayProgress status={job.arrayStatus} />
          <h3>Children</h3>
          <ArrayChildren parentId={job.id} live={!isFinished(job.state)} />
        </section>
      )}
      {(job.arrayParent || dependsOn.length > 0) && (
        <section aria-labelledby="relations-title" className="panel">
          <h2 id="relations-title">{dependsOn.length > 0 ? 'Dependencies' : 'Array'}</h2>
          {job.arrayParent && (
            <p>
              Child {job.arrayIndex ?? '?'} of the array <Link to={`/jobs/${job.arrayParent}`}>{job.arrayParent}</Link>
            </p>
          )}
          {dependsOn.length > 0 && (
            <>
              {job.hold && job.state === 'QUEUED' && <p>{job.hold.message}</p>}
              <ul aria-label="Depends on">
                {dependsOn.map((d) => (
                  <li key={`${d.type}:${d.job}`}>
                    <span className="badge">{d.type}</span>{' '}
                    <Link to={`/jobs/${d.job}`} className="mono">
                      {d.job}
                    </Link>
                  </li>
                ))}
              </ul>
            </>
          )}
        </section>
      )}
    </>
  );
}

function Artifacts({
  jobId,
  query,
  onError,
}: {
  jobId: string;
  query: { data?: { artifacts: Artifact[] } | undefined; error: unknown; isPending: boolean };
  onError: (error: unknown) => void;
}) {
  const client = useClient();
  if (query.error) {
    return isNotAvailable(query.error) ? (
      <p className="muted">Artifacts are not available on this deployment.</p>
    ) : (
      <ErrorMessage error={query.error} />
    );
  }
  const list = query.data?.artifacts ?? [];
  if (list.length === 0) return <p className="muted">{query.isPending ? 'No artifacts yet.' : 'None.'}</p>;
  return (
    <ul className="artifacts">
      {list.map((a) => {
        const path = `/v1/jobs/${encodeURIComponent(jobId)}/artifacts/${a.path.split('/').map(encodeURIComponent).join('/')}` as const;
        return (
          <li key={`${a.attempt}/${a.path}`}>
            <a
              href={path}
              onClick={(e) => {
                e.preventDefault();
                downloadWithToken(client, path, { attempt: a.attempt }, a.path.split('/').pop() ?? 'artifact').catch(onError);
              }}
            >
              {a.path}
            </a>{' '}
            <span className="muted">
              ({a.size} bytes, attempt {a.attempt})
            </span>
          </li>
        );
      })}
    </ul>
  );
}
