import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import type { JobState } from '../../../core/jobs/job.ts';
import { describeError, useClient } from '../api.ts';
import { WaitingBadge } from '../components/waiting-badge.tsx';
import { StateBadge } from '../components/state-badge.tsx';
import { formatCost, formatTime, formatTimeCompact, jobDuration } from '../format.ts';
import { JOB_STATE_NAMES, isFinished, jobCost, type ConsoleJob } from '../job-fields.ts';
import { ErrorMessage } from '../layout.tsx';
import { TableRegion } from '../components/table-region.tsx';
import { CursorPager, useCursorPages } from '../components/cursor-pager.tsx';

const PAGE_SIZE = 50;
const REFRESH_MS = 3_000;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/i;

/**
 * The jobs table. Filters live in the URL (shareable, kept on reload); the current page refreshes
 * in place every few seconds, keyed by job id, so scroll position and selection survive it.
 */
export function JobsPage() {
  const client = useClient();
  const queryClient = useQueryClient();
  const [params, setParams] = useSearchParams();
  // A state the API does not know (a stale link) is ignored rather than sent.
  const stateParam = params.get('state') ?? '';
  const state: JobState | '' = (JOB_STATE_NAMES as string[]).includes(stateParam) ? (stateParam as JobState) : '';
  const queue = params.get('queue') ?? '';
  const group = params.get('group') ?? '';
  const search = params.get('q') ?? '';
  const pages = useCursorPages();
  const cursor = pages.cursor;
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [cancelReport, setCancelReport] = useState<string[]>([]);

  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
    if (name !== 'q') pages.reset();
  };

  const jobs = useQuery({
    queryKey: ['jobs', { state, queue, group, cursor }],
    queryFn: () =>
      client.listJobs({
        limit: PAGE_SIZE,
        ...(state ? { state } : {}),
        ...(queue ? { queue } : {}),
        ...(group ? { group } : {}),
        ...(cursor ? { cursor } : {}),
      }),
    refetchInterval: REFRESH_MS,
    placeholderData: keepPreviousData,
  });

  const rows = useMemo(() => {
    const all = (jobs.data?.jobs ?? []) as ConsoleJob[];
    const needle = search.trim().toLowerCase();
    if (!needle) return all;
    return all.filter((j) => j.id.toLowerCase().includes(needle) || (j.name ?? '').toLowerCase().includes(needle));
  }, [jobs.data, search]);

  // A deployment without priorities (issue 11) gets no column of zeros.
  const showPriority = rows.some((j) => j.priority !== undefined);
  const cancellable = rows.filter((j) => selected.has(j.id) && !isFinished(j.state));

  const cancel = useMutation({
    mutationFn: async (ids: string[]) => {
      const results = await Promise.allSettled(ids.map((id) => client.cancelJob(id)));
      return results.map((r, i) => (r.status === 'fulfilled' ? `${ids[i]}: cancel requested` : `${ids[i]}: ${describeError(r.reason)}`));
    },
    onSuccess: (report) => {
      setCancelReport(report);
      setSelected(new Set());
      void queryClient.invalidateQueries({ queryKey: ['jobs'] });
    },
  });

  const toggle = (id: string, on: boolean) =>
    setSelected((current) => {
      const next = new Set(current);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const allSelected = rows.length > 0 && rows.every((j) => selected.has(j.id));
  const groupsSeen = [...new Set((jobs.data?.jobs ?? []).map((j) => j.group))];

  return (
    <section aria-labelledby="jobs-title">
      <div className="title-row">
        <h1 id="jobs-title">Jobs</h1>
        <Link className="button" to="/submit">
          Submit a job
        </Link>
      </div>
      <form className="filters" role="search" aria-label="Filter jobs" onSubmit={(e) => e.preventDefault()}>
        <label>
          State
          <select value={state} onChange={(e) => setFilter('state', e.target.value)}>
            <option value="">Any state</option>
            {JOB_STATE_NAMES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Queue
          <input value={queue} placeholder="any" onChange={(e) => setFilter('queue', e.target.value.trim())} />
        </label>
        <label>
          Group
          <input
            value={group}
            placeholder="yours"
            list="groups-seen"
            onChange={(e) => setFilter('group', e.target.value.trim())}
          />
          <datalist id="groups-seen">
            {groupsSeen.map((g) => (
              <option key={g} value={g} />
            ))}
          </datalist>
        </label>
        <label>
          Search by name or id
          <input type="search" value={search} onChange={(e) => setFilter('q', e.target.value)} />
        </label>
      </form>
      {ULID.test(search.trim()) && rows.length === 0 && (
        <p>
          Not on this page: <Link to={`/jobs/${search.trim().toUpperCase()}`}>open job {search.trim().toUpperCase()}</Link>
        </p>
      )}
      <div className="toolbar">
        <button type="button" disabled={cancellable.length === 0 || cancel.isPending} onClick={() => cancel.mutate(cancellable.map((j) => j.id))}>
          Cancel selected ({cancellable.length})
        </button>
        <span aria-live="polite" className="muted">
          {jobs.isFetching ? 'Refreshing…' : `${rows.length} job(s) on this page`}
        </span>
      </div>
      {cancelReport.length > 0 && (
        <ul aria-label="Cancel results" className="report">
          {cancelReport.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      )}
      {jobs.error && <ErrorMessage error={jobs.error} />}
      <TableRegion label="Jobs table">
        <table>
          <caption className="visually-hidden">Jobs, newest first</caption>
          <thead>
            <tr>
              <th scope="col">
                <input
                  type="checkbox"
                  aria-label="Select all jobs on this page"
                  checked={allSelected}
                  onChange={(e) => setSelected(e.target.checked ? new Set(rows.map((j) => j.id)) : new Set())}
                />
              </th>
              <th scope="col">Id</th>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">Queue</th>
              <th scope="col">Group</th>
              <th scope="col">Owner</th>
              <th scope="col">GPUs</th>
              {showPriority && <th scope="col">Priority</th>}
              <th scope="col">Submitted</th>
              <th scope="col">Duration</th>
              <th scope="col">Cost</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((job) => (
              <tr key={job.id} className={selected.has(job.id) ? "selected" : undefined}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Select job ${job.id}`}
                    checked={selected.has(job.id)}
                    onChange={(e) => toggle(job.id, e.target.checked)}
                  />
                </td>
                <td>
                  <Link to={`/jobs/${job.id}`} className="mono">
                    {job.id}
                  </Link>
                </td>
                <td>{job.name ?? '—'}</td>
                <td>
                  <StateBadge state={job.state} />
                  <WaitingBadge job={job} />
                  {job.arrayStatus && (
                    <span className="badge" title={`array of ${job.arrayStatus.total}`}>
                      array {job.arrayStatus.SUCCEEDED}/{job.arrayStatus.total}
                    </span>
                  )}
                </td>
                <td>{job.queue}</td>
                <td>{job.group}</td>
                <td className="owner" title={job.owner}>
                  {job.owner}
                </td>
                <td>{job.resources.gpus}</td>
                {showPriority && <td>{job.priority ?? 0}</td>}
                <td>
                  <time dateTime={job.createdAt} title={formatTime(job.createdAt)}>
                    {formatTimeCompact(job.createdAt)}
                  </time>
                </td>
                <td>{jobDuration(job)}</td>
                <td>{formatCost(jobCost(job))}</td>
              </tr>
            ))}
            {jobs.isSuccess && rows.length === 0 && (
              <tr>
                <td colSpan={showPriority ? 12 : 11}>No jobs match.</td>
              </tr>
            )}
          </tbody>
        </table>
      </TableRegion>
      <CursorPager pages={pages} nextCursor={jobs.data?.nextCursor} label="Pages" previousText="Newer jobs" nextText="Older jobs" />
    </section>
  );
}
