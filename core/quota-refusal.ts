/** A group's quota limits (null: no limit), as the group items store them (core/groups). */
export interface GroupQuota {
  readonly name: string;
  readonly maxGpus: number | null;
  readonly maxRunningJobs: number | null;
}

/** What a group holds against its quotas: its RUNNING jobs, and (in a pass) the jobs admitted for it. */
export interface QuotaHoldings {
  readonly jobs: number;
  readonly gpus: number;
}

/**
 * Why one more job of `gpus` GPUs would take the group past a quota, or null when it fits: the
 * scheduler's GroupQuota (core/scheduling/decide-admissions.ts) and the scaler's "not demand"
 * (core/scaling/quota-demand.ts) are this one rule, so a job the scheduler would hold back never
 * starts an instance. A GPU-less job never counts against `maxGpus`. Here, below both folders:
 * the scaler's may not import the scheduler's (core/jobs, which the scheduler's imports, reads the
 * scaler's posted decisions).
 */
export function quotaRefusal(group: GroupQuota, held: QuotaHoldings, gpus: number): string | null {
  const { maxRunningJobs, maxGpus } = group;
  if (maxRunningJobs !== null && held.jobs + 1 > maxRunningJobs) {
    return `group "${group.name}" runs ${held.jobs} job(s), its maxRunningJobs is ${maxRunningJobs}`;
  }
  if (maxGpus !== null && gpus > 0 && held.gpus + gpus > maxGpus) {
    return `group "${group.name}" holds ${held.gpus} GPU(s), its maxGpus is ${maxGpus}; this job needs ${gpus}`;
  }
  return null;
}
