import { arrayChildId } from '../ids.ts';
import { JOB_STATES, type ArrayParentState, type ArrayStatus, type Job, type JobState } from './job.ts';
import { arrayCountAttribute } from './job-item.ts';
import { childDependencies } from './dependencies.ts';
import { dependencyHold } from './dependency-decision.ts';
import type { ArrayTransitionName } from './state-machine.ts';

/**
 * Pure decisions about an array parent (specs/12-arrays-and-dependencies.md, "Arrays"): which
 * state its children's counts put it in, and how many children to materialise next. The store and
 * the coordinator (array-coordinator.ts) only carry them out.
 */

/**
 * Children written per materialisation transaction: TransactWriteItems takes 100 actions, one is the
 * parent's cursor update, and one is left spare.
 */
export const MATERIALISE_BATCH = 98;

/**
 * How many materialised-but-unfinished children a throttled array keeps beyond its parallelism, so
 * a finishing child's successor is already on the pending list (the scheduler admits it in the pass
 * the end kicks). They wait with `ArrayThrottle`; few, because each is one of the heads a scheduling
 * pass reads per group (specs/12, Arrays).
 */
export const THROTTLE_LOOKAHEAD = 2;

/**
 * Unthrottled arrays are materialised ahead of their running children by at most this many, so a
 * 10,000-child array does not put 10,000 messages on the queue at once (they follow as children end,
 * or the sweep runs).
 */
export const UNTHROTTLED_WINDOW = 1000;

export function finishedCount(status: ArrayStatus): number {
  return status.SUCCEEDED + status.FAILED + status.CANCELLED + status.TIMED_OUT;
}

export function unfinishedCount(status: ArrayStatus): number {
  return status.QUEUED + status.RUNNING;
}

/** The count attributes and the cursor as read: the `arrayCounts` guard of a parent's write. */
export function arrayCountsGuard(array: ArrayParentState): Record<string, number> {
  return {
    ...Object.fromEntries(JOB_STATES.map((state) => [arrayCountAttribute(state), array.status[state]])),
    arrayMaterialised: array.materialised,
  };
}

/** The next change of the parent's state its children's counts call for, or null when it is where it belongs. */
export function nextParentTransition(parent: Pick<Job, 'state' | 'cancelRequested' | 'array'>): { name: ArrayTransitionName; to: JobState } | null {
  const array = parent.array;
  if (!array || parent.cancelRequested) return null;
  const status = array.status;
  const unfinished = unfinishedCount(status);
  const started = status.RUNNING > 0 || finishedCount(status) > 0;
  switch (parent.state) {
    case 'QUEUED':
      return started ? { name: 'startArray', to: 'RUNNING' } : null;
    case 'RUNNING':
      if (unfinished > 0) return null;
      return { name: 'finishArray', to: status.SUCCEEDED === status.total ? 'SUCCEEDED' : 'FAILED' };
    case 'SUCCEEDED':
    case 'FAILED':
      return unfinished > 0 ? { name: 'reopenArray', to: 'QUEUED' } : null;
    default:
      return null;
  }
}

/** Why a finished parent is FAILED, with the count. */
export function arrayOutcomeReason(status: ArrayStatus): string {
  const failed = status.total - status.SUCCEEDED;
  if (failed === 0) return `all ${status.total} children succeeded`;
  const parts = (['FAILED', 'TIMED_OUT', 'CANCELLED'] as const).filter((s) => status[s] > 0).map((s) => `${status[s]} ${s}`);
  return `${failed} of ${status.total} children did not succeed (${parts.join(', ')})`;
}

/**
 * The children to materialise now (`from` … `from + count - 1`), or null: none left, the parent was
 * cancelled, or enough are already materialised and unfinished (K + look-ahead with a throttle).
 */
export function nextMaterialisation(parent: Pick<Job, 'cancelRequested' | 'array' | 'state' | 'hold'>): { from: number; count: number } | null {
  const array = parent.array;
  // A parent held for its dependencies has no children yet: they are made once it is released.
  if (!array || parent.cancelRequested || parent.state === 'CANCELLED' || parent.hold) return null;
  const left = array.size - array.materialised;
  if (left <= 0) return null;
  const window = array.parallelism === null ? UNTHROTTLED_WINDOW : array.parallelism + THROTTLE_LOOKAHEAD;
  const materialisedUnfinished = array.materialised - finishedCount(array.status);
  const room = window - materialisedUnfinished;
  if (room <= 0) return null;
  return { from: array.materialised, count: Math.min(room, left, MATERIALISE_BATCH) };
}

/**
 * Child `index` of `parent`: an ordinary job of the parent's spec, group and owner, created at the
 * parent's submit (its `createdAt` is the parent's, so the parent's submit signature covers it).
 */
export function arrayChildJob(parent: Job, index: number, now: Date): Job {
  const array = parent.array;
  if (!array || index < 0 || index >= array.size) throw new RangeError(`array ${parent.id} has no child ${index}`);
  const { array: _array, ...spec } = parent;
  const dependsOn = childDependencies(parent.dependsOn, index, arrayChildId);
  return {
    ...spec,
    id: arrayChildId(parent.id, index),
    state: 'QUEUED',
    dispatched: false,
    attempt: 0,
    exitCode: null,
    reason: null,
    startedAt: null,
    finishedAt: null,
    retryAt: null,
    cancelRequested: false,
    cancelRequestedBy: null,
    lease: null,
    holdings: [],
    attempts: [],
    history: [{ at: now.toISOString(), from: null, to: 'QUEUED', reason: `child ${index} of array ${parent.id}` }],
    // The parent's other dependencies were satisfied before any child was made; an aftercorr one
    // holds child i on its partner, child i of the other array, until the re-check after the
    // materialisation (or the partner's end) settles it (specs/12, aftercorr).
    dependsOn,
    hold: dependsOn.length > 0 ? dependencyHold(dependsOn.map((d) => ({ ...d, state: 'QUEUED' as const }))) : null,
    reasonCode: null,
    array: null,
    arrayChild: {
      parentId: parent.id,
      index,
      size: array.size,
      parallelism: array.parallelism,
      taskId: array.indices?.[index] ?? index,
    },
  };
}

/** The parent's children as they start: every one counted QUEUED, none materialised. */
export function newArrayState(spec: { size: number; parallelism: number | null; indices: number[] | null }): ArrayParentState {
  return {
    size: spec.size,
    parallelism: spec.parallelism,
    indices: spec.indices,
    materialised: 0,
    status: { total: spec.size, QUEUED: spec.size, RUNNING: 0, SUCCEEDED: 0, FAILED: 0, CANCELLED: 0, TIMED_OUT: 0 },
  };
}
