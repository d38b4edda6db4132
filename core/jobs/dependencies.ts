import * as z from 'zod';
import { JOB_ID_PATTERN } from '../ids.ts';

/**
 * Dependencies between jobs, in Slurm's terms (`--dependency=afterok:ID`), the shape of a job's `dependsOn`
 * list and of the hold it puts on the job.
 *
 * The decisions over them are in dependency-decision.ts.
 *
 * - `afterok`: the dependency SUCCEEDED. Never satisfied once it FAILED, was CANCELLED or TIMED_OUT.
 * - `afterany`: the dependency finished, in any final state.
 * - `afternotok`: the dependency FAILED, was CANCELLED or TIMED_OUT. Never satisfied once it SUCCEEDED.
 * - `aftercorr`: between arrays, child i waits for the dependency's child i to succeed
 *   (`corrDependencies` maps it to `afterok` on that child when children are made); on a job that is
 *   not an array child it means `afterok` on the job named.
 */
export const DEPENDENCY_TYPES = ['afterok', 'afterany', 'afternotok', 'aftercorr'] as const;
export type DependencyType = (typeof DEPENDENCY_TYPES)[number];

/** AWS Batch allows 20 dependencies; the issue asks for 100 (one page of reads, one hold message). */
export const MAX_DEPENDENCIES = 100;

export const dependencySchema = z.strictObject({
  job: z.string().regex(JOB_ID_PATTERN, 'must be a job id'),
  type: z.enum(DEPENDENCY_TYPES),
});
export type Dependency = z.infer<typeof dependencySchema>;

export const dependsOnSchema = z
  .array(dependencySchema)
  .max(MAX_DEPENDENCIES)
  .refine((list) => new Set(list.map((d) => `${d.type}:${d.job}`)).size === list.length, 'must not name the same dependency twice');

/** Why a QUEUED job is not runnable (contract: `hold`); the scheduler renders `waiting` from it. */
export interface Hold {
  readonly code: 'Dependency' | 'ArrayThrottle';
  readonly message: string;
}

/** The machine-readable reason of a job failed because one of its dependencies can never be satisfied. */
export const DEPENDENCY_NEVER_SATISFIED = 'DEPENDENCY_NEVER_SATISFIED';

/**
 * What holds a job as a whole: every dependency, except on an array parent its `aftercorr` ones,
 * which hold each child on its partner instead (`corrDependencies`), not the parent.
 */
export function holdingDependencies(job: { readonly dependsOn: readonly Dependency[]; readonly array?: unknown }): readonly Dependency[] {
  return job.array ? job.dependsOn.filter((d) => d.type !== 'aftercorr') : job.dependsOn;
}

/**
 * What an array child waits for: its parent's `aftercorr` dependencies paired with its own index.
 * The parent's other dependencies were satisfied before any child was made, so a child names (and
 * gets edges for) only its partners.
 */
export function childDependencies(parentDependsOn: readonly Dependency[], index: number, childId: (parentId: string, index: number) => string): Dependency[] {
  return corrDependencies(
    parentDependsOn.filter((d) => d.type === 'aftercorr'),
    index,
    childId,
  );
}

/**
 * The dependencies of child `index` of an array whose spec has `dependsOn`: each `aftercorr` on
 * array A becomes `afterok` on A's child `index` (`childId(A, index)`), the others apply to every
 * child as written. The array materialiser calls this for each child it makes, so a child's stored
 * `dependsOn` names only whole jobs and the release path never needs to know about arrays.
 */
export function corrDependencies(
  dependsOn: readonly Dependency[],
  index: number,
  childId: (parentId: string, index: number) => string,
): Dependency[] {
  const mapped = dependsOn.map((d) => (d.type === 'aftercorr' ? { job: childId(d.job, index), type: 'afterok' as const } : d));
  // Two entries may now coincide (afterok:A-3 written out and aftercorr:A): keep one of each.
  const seen = new Set<string>();
  return mapped.filter((d) => {
    const key = `${d.type}:${d.job}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
