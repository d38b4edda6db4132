import type { JobState } from '../../../core/jobs/job.ts';

export function StateBadge({ state }: { state: JobState }) {
  return <span className={`state state-${state.toLowerCase()}`}>{state}</span>;
}
