import type { GroupSchedulingState } from './group-states.ts';

/** What a group holds against its quotas: its RUNNING jobs, and (in a pass) the jobs admitted for it. */
export interface QuotaHoldings {
  readonly jobs: number;
  readonly gpus: number;
}

/**
 * Why one more job of `gpus` GPUs would take the group past a quota, or null when it fits: the
 * scheduler's GroupQuota (decide-admissions.ts) and the scaler's "not demand" (core/scaling) are
 * this one rule, so a job the scheduler would hold back never starts an instance. A GPU-less job
 * never counts against `maxGpus`.
 */
export function quotaRefusal(group: Pick<GroupSchedulingState, 'name' | 'maxGpus' | 'maxRunningJobs'>, held: QuotaHoldings, gpus: number): string | null {
  const { maxRunningJobs, maxGpus } = group;
  if (maxRunningJobs !== null && held.jobs + 1 > maxRunningJobs) {
    return `group "${group.name}" runs ${held.jobs} job(s), its maxRunningJobs is ${maxRunningJobs}`;
  }
  if (maxGpus !== null && gpus > 0 && held.gpus + gpus > maxGpus) {
    return `group "${group.name}" holds ${held.gpus} GPU(s), its maxGpus is ${maxGpus}; this job needs ${gpus}`;
  }
  return null;
}
