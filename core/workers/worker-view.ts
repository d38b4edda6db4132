import type { Caller } from '../auth/caller.ts';
import { canSeeGroup } from '../auth/policy.ts';
import type { WorkerRecord } from './registry.ts';

/** What `GET /v1/workers` shows of one worker to one caller. */
/** The inbox address is the platform's plumbing, not the caller's business. */
export interface WorkerView extends Omit<WorkerRecord, 'runningJobGroups' | 'inbox'> {
  /** Slots in use, whoever's jobs fill them: capacity is shared, so everyone may see it. */
  readonly busySlots: number;
}

/**
 * A worker as `caller` may see it: admins see every running job; everyone else sees only the ids
 * of jobs in groups they can read (a job of unknown group counts as someone else's), and the rest
 * as busy slots. Pure, so the rule is tested as a table.
 */
export function workerViewFor(caller: Caller, worker: WorkerRecord): WorkerView {
  const { runningJobGroups = {}, inbox: _inbox, ...rest } = worker;
  const visible =
    caller.role === 'admin'
      ? worker.runningJobs
      : worker.runningJobs.filter((id) => {
          const group = runningJobGroups[id];
          return group !== undefined && canSeeGroup(caller, group);
        });
  return { ...rest, runningJobs: visible, busySlots: worker.runningJobs.length };
}
