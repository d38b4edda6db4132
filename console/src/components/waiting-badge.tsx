import { waitingBadge, type ConsoleJob } from '../job-fields.ts';

/** Beside a QUEUED job's state in a table: why it waits, in a few words (the full message as title). */
export function WaitingBadge({ job }: { job: Pick<ConsoleJob, 'state' | 'waiting'> }) {
  if (job.state !== 'QUEUED' || !job.waiting) return null;
  return (
    <span className="badge waiting" title={job.waiting.message}>
      {waitingBadge(job.waiting)}
    </span>
  );
}
