import type { JobState } from './job.ts';
import type { Dependency, DependencyType, Hold } from './dependencies.ts';

/**
 * What a job's `dependsOn` list says about it, given the states of the jobs it names (pure). The
 * store and DependencyRelease (dependency-release.ts) carry the decisions out.
 */
/** What a dependency's job looks like to the decision: its state, or absent when it no longer exists. */
export type DependencyStates = ReadonlyMap<string, JobState | undefined>;

export type DependencyDecision =
  | { readonly kind: 'satisfied' }
  | { readonly kind: 'waiting'; readonly on: readonly (Dependency & { readonly state: JobState })[] }
  | { readonly kind: 'never'; readonly dependency: Dependency; readonly state: JobState | 'MISSING' };

const FAILED_STATES: readonly JobState[] = ['FAILED', 'CANCELLED', 'TIMED_OUT'];

/** One dependency against its job's state: met, not yet known, or never (pure). */
export function dependencyStatus(type: DependencyType, state: JobState | undefined): 'met' | 'pending' | 'never' {
  if (state === undefined) return 'never';
  if (state === 'QUEUED' || state === 'RUNNING') return 'pending';
  switch (type) {
    case 'afterany':
      return 'met';
    case 'afterok':
    case 'aftercorr':
      return state === 'SUCCEEDED' ? 'met' : 'never';
    case 'afternotok':
      return FAILED_STATES.includes(state) ? 'met' : 'never';
  }
}

/**
 * The job's dependencies as a whole: never satisfiable as soon as one is (the first in list order is
 * named), else waiting while any is pending, else satisfied.
 */
export function decideDependencies(dependsOn: readonly Dependency[], states: DependencyStates): DependencyDecision {
  const waiting: (Dependency & { state: JobState })[] = [];
  for (const dependency of dependsOn) {
    const state = states.get(dependency.job);
    const status = dependencyStatus(dependency.type, state);
    if (status === 'never') return { kind: 'never', dependency, state: state ?? 'MISSING' };
    if (status === 'pending') waiting.push({ ...dependency, state: state! });
  }
  return waiting.length > 0 ? { kind: 'waiting', on: waiting } : { kind: 'satisfied' };
}

const NAMED_IN_MESSAGE = 5;

/** The hold of a job still waiting: names what it waits for (the first few, then a count). */
export function dependencyHold(on: readonly (Dependency & { readonly state: JobState })[]): Hold {
  const named = on.slice(0, NAMED_IN_MESSAGE).map((d) => `${d.type}:${d.job} (${d.state})`);
  const more = on.length > NAMED_IN_MESSAGE ? ` and ${on.length - NAMED_IN_MESSAGE} more` : '';
  return { code: 'Dependency', message: `waiting for ${named.join(', ')}${more}` };
}

/** The human reason of a job whose dependency can never be satisfied (its reason code is DEPENDENCY_NEVER_SATISFIED). */
export function neverSatisfiedReason(decision: Extract<DependencyDecision, { kind: 'never' }>): string {
  const { dependency, state } = decision;
  return state === 'MISSING'
    ? `dependency ${dependency.type}:${dependency.job} can never be satisfied: the job no longer exists`
    : `dependency ${dependency.type}:${dependency.job} can never be satisfied: it ended ${state}`;
}

