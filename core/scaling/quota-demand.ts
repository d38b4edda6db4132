import { quotaRefusal } from '../quota-refusal.ts';
import type { GroupQuotaState, PendingBacklog, PendingDemand } from './pool-scaling.ts';

/** The pending jobs that are demand for instances, and how many are not because of their group's quota. */
export interface QuotaDemand extends PendingDemand {
  /** Pending jobs the scheduler would hold back for their group's quota (GroupQuota): no instance would run them. */
  readonly quotaBlockedJobs: number;
}

/**
 * Which pending jobs could start if capacity were there (pure; specs/11-scheduling.md, decision 24).
 * Each group's jobs are taken in its admission order, as the scheduler would admit them into
 * unlimited capacity: one that its group's quota refuses (the scheduler's own rule, quotaRefusal,
 * from what the group's RUNNING jobs hold) is no demand, one that fits is, and holds its share of
 * the quota for the ones after it. A group without a state (none read: the read failed, or no
 * group store) is counted whole, as before quotas: a stale view may start an instance, never keep
 * one from starting.
 */
export function quotaDemand(backlog: PendingBacklog, groups?: ReadonlyMap<string, GroupQuotaState>): QuotaDemand {
  let jobs = 0;
  let gpus = 0;
  let quotaBlockedJobs = 0;
  for (const [name, pending] of backlog) {
    const state = groups?.get(name);
    const held = { jobs: state?.runningJobs ?? 0, gpus: state?.runningGpus ?? 0 };
    for (const need of pending) {
      if (state && quotaRefusal(state, held, need)) {
        quotaBlockedJobs += 1;
        continue;
      }
      jobs += 1;
      gpus += need;
      held.jobs += 1;
      held.gpus += need;
    }
  }
  return { jobs, gpus, quotaBlockedJobs };
}
