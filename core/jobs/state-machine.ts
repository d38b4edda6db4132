import { JOB_STATES, TERMINAL_STATES, type JobState } from './job.ts';

/**
 * A fact a write must find true besides the job's state, checked by the same DynamoDB condition:
 * - `expectedAttempt`: the attempt counter is the one the writer read (two racing claims of one
 *   message produce exactly one attempt; a stale read never acts on a newer attempt).
 * - `notCancelRequested`: nobody asked to cancel the job (a cancelled job never runs again).
 * - `lease`: the writer holds the attempt's lease (its id and attempt number), and when a
 *   recoverer writes (`expiredBefore` given) that lease ran out before the given instant.
 * - `leaseId`: the writer holds the lease, whatever the attempt (heartbeat).
 * - `expiredIfRunning`: a RUNNING job's lease ran out before `nowMs` (a live attempt is never ended
 *   from outside); a QUEUED job passes.
 * - `pending`: the job is on the scheduler's pending list (not admitted, not held).
 * - `admitted`: the scheduler admitted it (its message is out) and no claim took it since.
 * - `priority`: the priority is the one the writer read (the pending sort key it rewrites embeds it).
 * - `arrayCounts`: an array parent's child counts and materialisation cursor are still the ones the
 *   writer read, so a parent's state is always derived from one consistent snapshot of its
 *   children (a child that moved since makes the write fail, and the writer decides again).
 * - `held` / `notHeld`: the job carries a `hold` (unsatisfied dependencies) / carries none. A held
 *   job is never claimed, and its hold is cleared or the job failed once, by one writer.
 */
export type Guard =
  | 'expectedAttempt'
  | 'notCancelRequested'
  | 'lease'
  | 'leaseId'
  | 'expiredIfRunning'
  | 'pending'
  | 'admitted'
  | 'priority'
  | 'arrayCounts'
  | 'held'
  | 'notHeld';

export interface Transition {
  readonly from: readonly JobState[];
  readonly to: readonly JobState[];
  readonly guards: readonly Guard[];
}

const FINISHED: readonly JobState[] = TERMINAL_STATES;

/**
 * Every write that changes a job, by name: the states it may start from, the states it may lead
 * to, and the guards its condition adds. The store's condition expressions are built from this
 * table (transitionCondition) and from nothing else, so a rule changes here or nowhere.
 *
 * `renewLease`, `requestCancel`, `releaseHold` and `rewriteHold` keep the state: they are in the
 * table for their guards; `canTransition` lists only changes of state.
 */
export const TRANSITIONS = {
  // A message of a held job (a duplicate, a re-send after a restart) never starts it.
  claim: { from: ['QUEUED'], to: ['RUNNING'], guards: ['expectedAttempt', 'notCancelRequested', 'notHeld'] },
  renewLease: { from: ['RUNNING'], to: ['RUNNING'], guards: ['leaseId'] },
  finish: { from: ['RUNNING'], to: FINISHED, guards: ['lease'] },
  // A retry after a failed attempt, or a hand-back: refused once a cancel was requested, so the
  // lease holder ends the attempt CANCELLED instead.
  requeue: { from: ['RUNNING'], to: ['QUEUED'], guards: ['lease', 'notCancelRequested'] },
  cancelQueued: { from: ['QUEUED'], to: ['CANCELLED'], guards: ['expectedAttempt'] },
  requestCancel: { from: ['RUNNING'], to: ['RUNNING'], guards: ['expectedAttempt'] },
  // A message dead-lettered before any worker claimed it, or whose worker was lost.
  failDeadLettered: { from: ['QUEUED', 'RUNNING'], to: ['FAILED'], guards: ['expectedAttempt', 'expiredIfRunning'] },
  // An explicit user retry of a finished job: one more attempt.
  retryFinished: { from: FINISHED, to: ['QUEUED'], guards: ['expectedAttempt'] },
  // The scheduler's admission (pending → admitted, then its message) and its undoing by a worker
  // that cannot fit the job or whose claim a capacity counter refused (admitted → pending again).
  admit: { from: ['QUEUED'], to: ['QUEUED'], guards: ['expectedAttempt', 'pending', 'notCancelRequested'] },
  unadmit: { from: ['QUEUED'], to: ['QUEUED'], guards: ['expectedAttempt', 'admitted', 'priority'] },
  // A new priority for a waiting job; the pending sort key changes with it.
  reprioritize: { from: ['QUEUED'], to: ['QUEUED'], guards: ['expectedAttempt', 'priority'] },
  // An array parent is never claimed: its state follows its children's counts (core/jobs/array-progress.ts).
  // The first child claimed (or finished):
  startArray: { from: ['QUEUED'], to: ['RUNNING'], guards: ['arrayCounts', 'notCancelRequested'] },
  // Every child finished: SUCCEEDED if all succeeded, else FAILED.
  finishArray: { from: ['RUNNING'], to: ['SUCCEEDED', 'FAILED'], guards: ['arrayCounts', 'notCancelRequested'] },
  // A finished parent with a child queued again (a retry of the parent or of one child).
  reopenArray: { from: ['SUCCEEDED', 'FAILED'], to: ['QUEUED'], guards: ['arrayCounts', 'notCancelRequested'] },
  // Cancelling the parent: its not-yet-materialised children are counted CANCELLED in the same write.
  cancelArray: { from: ['QUEUED', 'RUNNING'], to: ['CANCELLED'], guards: ['arrayCounts'] },
  // A held job's dependencies are all satisfied: it becomes runnable. Whoever writes it first (the
  // finisher of its last dependency, the submit's re-check, the sweep) dispatches; the others find
  // it no longer held. Held → runnable, so QUEUED → QUEUED.
  releaseHold: { from: ['QUEUED'], to: ['QUEUED'], guards: ['held'] },
  // A held job one of whose dependencies can never be satisfied ends FAILED (DEPENDENCY_NEVER_SATISFIED).
  failHeld: { from: ['QUEUED'], to: ['FAILED'], guards: ['held'] },
  // What a held job waits for changed (one of several dependencies finished): bookkeeping, not audited.
  rewriteHold: { from: ['QUEUED'], to: ['QUEUED'], guards: ['held'] },
} as const satisfies Record<string, Transition>;

export type TransitionName = keyof typeof TRANSITIONS;
/** The writes of an array parent's state (it is never claimed; its children's counts move it). */
export type ArrayTransitionName = Extract<TransitionName, 'startArray' | 'finishArray' | 'reopenArray' | 'cancelArray'>;

/** Changes of state only (self-transitions left out): from → the states it may become. */
export const NEXT_STATES: Readonly<Record<JobState, readonly JobState[]>> = Object.fromEntries(
  JOB_STATES.map((from) => [
    from,
    JOB_STATES.filter((to) => to !== from && Object.values(TRANSITIONS).some((t: Transition) => t.from.includes(from) && t.to.includes(to))),
  ]),
) as Record<JobState, JobState[]>;

export function canTransition(from: JobState, to: JobState): boolean {
  return NEXT_STATES[from].includes(to);
}

/** The states a job may be in for a change of state to `to` to be legal. */
export function sourcesOf(to: JobState): JobState[] {
  return JOB_STATES.filter((from) => canTransition(from, to));
}

/** What the guards compare with: the writer's own reading of the job. */
export interface GuardValues {
  readonly attempt?: number;
  readonly leaseId?: string;
  /** Epoch ms: with `lease`, the write is a recovery of a lease that expired before this. */
  readonly expiredBefore?: number;
  /** Epoch ms, for `expiredIfRunning`. */
  readonly nowMs?: number;
  /** For `priority`. */
  readonly priority?: number;
  /** For `arrayCounts`: each count attribute (and the cursor) with the value the writer read. */
  readonly arrayCounts?: Readonly<Record<string, number>>;
}

/** A DynamoDB condition with its placeholders (`#c_*`, `:c_*`: never clash with an update's own). */
export interface Condition {
  readonly expression: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, unknown>;
}

/**
 * The condition of transition `name` to state `to`: the job is in one of its source states and
 * every guard holds. Throws RangeError for a target the transition cannot reach or a guard value
 * missing: a bug in the caller, never a client mistake.
 */
export function transitionCondition(name: TransitionName, to: JobState, given: GuardValues = {}): Condition {
  const transition: Transition = TRANSITIONS[name];
  if (!transition.to.includes(to)) throw new RangeError(`transition ${name} cannot lead to ${to}`);
  const names: Record<string, string> = { '#c_state': 'state' };
  const values: Record<string, unknown> = {};
  const from = transition.from.map((state, i) => {
    values[`:c_from${i}`] = state;
    return `:c_from${i}`;
  });
  const parts = [from.length === 1 ? `#c_state = ${from[0]}` : `#c_state IN (${from.join(', ')})`];
  const need = <K extends keyof GuardValues>(key: K): NonNullable<GuardValues[K]> => {
    const value = given[key];
    if (value === undefined) throw new RangeError(`transition ${name} needs ${key}`);
    return value as NonNullable<GuardValues[K]>;
  };
  for (const guard of transition.guards) {
    switch (guard) {
      case 'expectedAttempt':
        values[':c_attempt'] = need('attempt');
        parts.push('attempt = :c_attempt');
        break;
      case 'notCancelRequested':
        values[':c_false'] = false;
        parts.push('cancelRequested = :c_false');
        break;
      case 'leaseId':
        values[':c_lid'] = need('leaseId');
        parts.push('leaseId = :c_lid');
        break;
      case 'lease':
        values[':c_lid'] = need('leaseId');
        values[':c_attempt'] = need('attempt');
        parts.push('leaseId = :c_lid', 'attempt = :c_attempt');
        if (given.expiredBefore !== undefined) {
          values[':c_expiredBefore'] = given.expiredBefore;
          parts.push('leaseExpiresAt < :c_expiredBefore');
        }
        break;
      case 'pending':
        parts.push('attribute_exists(pendingKey)');
        break;
      case 'admitted':
        parts.push('attribute_exists(admittedAt)', 'attribute_not_exists(pendingKey)');
        break;
      case 'priority':
        values[':c_priority'] = need('priority');
        // Jobs stored before priorities existed have none: they are priority 0.
        parts.push(values[':c_priority'] === 0 ? '(attribute_not_exists(priority) OR priority = :c_priority)' : 'priority = :c_priority');
        break;
      case 'expiredIfRunning':
        values[':c_running'] = 'RUNNING';
        values[':c_nowMs'] = need('nowMs');
        parts.push('(#c_state <> :c_running OR leaseExpiresAt < :c_nowMs)');
        break;
      case 'arrayCounts':
        Object.entries(need('arrayCounts')).forEach(([attribute, value], i) => {
          names[`#c_ac${i}`] = attribute;
          values[`:c_ac${i}`] = value;
          parts.push(`#c_ac${i} = :c_ac${i}`);
        });
        break;
      case 'held':
        names['#c_hold'] = 'hold';
        parts.push('attribute_exists(#c_hold)');
        break;
      case 'notHeld':
        names['#c_hold'] = 'hold';
        parts.push('attribute_not_exists(#c_hold)');
        break;
    }
  }
  return { expression: parts.join(' AND '), names, values };
}
