import { DEFAULT_RETRY_DELAY_SECONDS, DEFAULT_RETRY_ON, JOB_STATES, MAX_PRIORITY } from './job.ts';
import type { ArrayChildState, ArrayParentState, ArrayStatus, AttemptRecord, Job, JobState, RetryCondition, StateChange } from './job.ts';
import type { Dependency, Hold } from './dependencies.ts';

/**
 * The job as a DynamoDB item and back (pure): its key, the GSI keys that follow its state, the
 * lease flattened into attributes. The store (dynamodb-store.ts) does the I/O.
 */
export type Item = Record<string, unknown>;

export const jobKey = (jobId: string) => ({ pk: `JOB#${jobId}` });
export const guardKey = (key: string) => ({ pk: `IDEMPOTENCY#${key}` });

/**
 * The edge from a dependency to a job that named it in `dependsOn`, found by the `dependents` GSI
 * (partition `dependencyKey`): how the writer of a final state finds who waits for it without a scan.
 */
export const dependencyEdgeKey = (dependencyId: string, dependentId: string) => ({ pk: `DEP#${dependencyId}#${dependentId}` });

export function dependencyEdgeItem(dependencyId: string, dependentId: string): Item {
  return { ...dependencyEdgeKey(dependencyId, dependentId), dependencyKey: dependencyId, dependentId };
}

/**
 * Whether a QUEUED job may be run: the one place that decision is made. A held job (unsatisfied
 * dependencies, an array's throttle) carries no key of a list that leads to a claim (queued,
 * undispatched and, with the scheduler, pending), only `heldKey` for the sweep that re-checks it.
 */
export function isRunnable(job: Pick<Job, 'state' | 'hold'>): boolean {
  return job.state === 'QUEUED' && job.hold === null;
}

/**
 * The pending index's sort key: group, then inverted priority (so the highest comes first), then
 * the job id (a ULID: submit order). `#` sorts below every character a group name may contain, so
 * one group's keys are contiguous and `${group}$` is just past them (specs/11-scheduling.md).
 */
export function pendingSortKey(job: Pick<Job, 'group' | 'priority' | 'id'>): string {
  return `${job.group}#${String(MAX_PRIORITY - job.priority).padStart(4, '0')}#${job.id}`;
}

/** The smallest pending sort key past every key of `group`. */
export function pendingSortKeyAfterGroup(group: string): string {
  return `${group}$`;
}

/** A QUEUED job the scheduler may admit: not held and not admitted yet. */
export function isPending(job: Pick<Job, 'state' | 'admittedAt' | 'hold'>): boolean {
  return isRunnable(job) && !job.admittedAt;
}

/**
 * Whether a job holds capacity on its pool: RUNNING, or QUEUED and admitted (promised to a worker,
 * not claimed yet). Such a job is on the `running` index (`runningKey`) from its admission to the
 * end of its attempt, so a claim does not move it between lists and one query reads every holding.
 */
export function holdsCapacity(job: Pick<Job, 'state' | 'admittedAt' | 'hold'>): boolean {
  return job.state === 'RUNNING' || (isRunnable(job) && job.admittedAt !== null);
}

/**
 * GSI key attributes that follow the job's state. Transitions rewrite them in the same update; the
 * sparse ones exist only in the state whose work list they serve.
 */
export function stateKeys(job: Pick<Job, 'id' | 'group' | 'state' | 'queue' | 'priority' | 'admittedAt' | 'hold' | 'array'>) {
  // An array parent is never run by a worker: it is on no worker's, scheduler's, sweeper's or
  // reaper's list. A held one is on the sweep's held list, like any held job.
  if (job.array) return { groupStateKey: `${job.group}#${job.state}`, ...(job.state === 'QUEUED' && job.hold ? { heldKey: job.queue } : {}) };
  const runnable = isRunnable(job);
  return {
    groupStateKey: `${job.group}#${job.state}`,
    // The pool's holdings (specs/11-scheduling.md, decision 19): running, or admitted and not claimed yet.
    ...(holdsCapacity(job) ? { runningKey: job.queue } : {}),
    // Admitted, message maybe not sent: the admission sweeper's list (and the scheduler's count of
    // capacity promised but not claimed yet).
    ...(runnable && job.admittedAt ? { dispatchKey: job.queue } : {}),
    ...(isPending(job) ? { pendingKey: job.queue, pendingSort: pendingSortKey(job) } : {}),
    ...(job.state === 'QUEUED' && job.hold !== null ? { heldKey: job.queue } : {}),
  };
}

/** The attribute counting an array parent's children in `state` (top-level, so ADD can move it). */
export const arrayCountAttribute = (state: JobState) => `arrayCount${state}`;

/**
 * An array parent's own attributes: its counts (every child counted from the start, as QUEUED until
 * it is materialised and runs), its materialisation cursor, and `activeArrayKey` (sparse GSI
 * `activeArrays`, the maintenance sweep's list) until nothing of it is left to do.
 */
function arrayParentAttributes(job: Job): Item {
  const array = job.array;
  if (!array) return {};
  return {
    arraySize: array.size,
    arrayParallelism: array.parallelism,
    arrayIndices: array.indices,
    arrayMaterialised: array.materialised,
    activeArrayKey: job.queue,
    ...Object.fromEntries(JOB_STATES.map((state) => [arrayCountAttribute(state), array.status[state]])),
  };
}

/** An array child's link to its parent: `arrayParentKey` (GSI `byArrayParent`, sorted by index). */
function arrayChildAttributes(job: Job): Item {
  const child = job.arrayChild;
  if (!child) return {};
  return {
    arrayParentKey: child.parentId,
    arrayIndex: child.index,
    arrayChildSize: child.size,
    arrayChildParallelism: child.parallelism,
    arrayTaskId: child.taskId,
  };
}

function arrayParentOf(item: Item): ArrayParentState | null {
  if (typeof item.arraySize !== 'number') return null;
  const count = (state: JobState) => (item[arrayCountAttribute(state)] as number | undefined) ?? 0;
  const status: ArrayStatus = {
    total: item.arraySize,
    QUEUED: count('QUEUED'),
    RUNNING: count('RUNNING'),
    SUCCEEDED: count('SUCCEEDED'),
    FAILED: count('FAILED'),
    CANCELLED: count('CANCELLED'),
    TIMED_OUT: count('TIMED_OUT'),
  };
  return {
    size: item.arraySize,
    parallelism: (item.arrayParallelism as number | null | undefined) ?? null,
    indices: (item.arrayIndices as number[] | null | undefined) ?? null,
    status,
    materialised: (item.arrayMaterialised as number | undefined) ?? 0,
  };
}

function arrayChildOf(item: Item): ArrayChildState | null {
  if (typeof item.arrayParentKey !== 'string') return null;
  return {
    parentId: item.arrayParentKey,
    index: item.arrayIndex as number,
    size: item.arrayChildSize as number,
    parallelism: (item.arrayChildParallelism as number | null | undefined) ?? null,
    taskId: (item.arrayTaskId as number | undefined) ?? (item.arrayIndex as number),
  };
}

export function jobToItem(job: Job): Item {
  const { lease, dispatched: _dispatched, holdings, hold, reasonCode, admittedAt, admittedTo, array: _array, arrayChild: _child, ...rest } = job;
  return {
    ...jobKey(job.id),
    ...rest,
    ...arrayParentAttributes(job),
    ...arrayChildAttributes(job),
    groupKey: job.group,
    groupQueueKey: `${job.group}#${job.queue}`,
    ...stateKeys(job),
    ...(holdings.length > 0 ? { holdings } : {}),
    // Stored only while set: conditions test `attribute_exists(hold)` (state-machine.ts guards).
    ...(hold ? { hold } : {}),
    ...(reasonCode ? { reasonCode } : {}),
    // Present only while admitted: conditions test for the attribute.
    ...(admittedAt ? { admittedAt, ...(admittedTo ? { admittedTo } : {}) } : {}),
    ...(lease ? { leaseId: lease.id, leaseWorkerId: lease.workerId, leaseExpiresAt: lease.expiresAt } : {}),
  };
}

export function itemToJob(item: Item): Job {
  const leaseId = item.leaseId as string | undefined;
  return {
    id: item.id as string,
    name: (item.name as string | null | undefined) ?? null,
    group: item.group as string,
    owner: item.owner as string,
    state: item.state as JobState,
    queue: item.queue as string,
    command: item.command as string[],
    env: (item.env as Record<string, string> | undefined) ?? {},
    timeoutSeconds: item.timeoutSeconds as number,
    maxAttempts: item.maxAttempts as number,
    retryOn: (item.retryOn as RetryCondition[] | undefined) ?? DEFAULT_RETRY_ON,
    retryDelaySeconds: (item.retryDelaySeconds as number | undefined) ?? DEFAULT_RETRY_DELAY_SECONDS,
    retryAt: (item.retryAt as string | null | undefined) ?? null,
    dispatched: item.dispatchKey === undefined && item.pendingKey === undefined,
    priority: (item.priority as number | undefined) ?? 0,
    admittedAt: (item.admittedAt as string | null | undefined) ?? null,
    ...(typeof item.admittedTo === 'string' && item.admittedAt ? { admittedTo: item.admittedTo } : {}),
    resources: item.resources as Job['resources'],
    image: (item.image as string | null | undefined) ?? null,
    ...(typeof item.dispatchSignature === 'string' ? { dispatchSignature: item.dispatchSignature } : {}),
    ...(typeof item.outputWatchedUntil === 'number' ? { outputWatchedUntil: item.outputWatchedUntil } : {}),
    workdir: (item.workdir as Job['workdir'] | undefined) ?? null,
    artifacts: (item.artifacts as string[] | undefined) ?? [],
    imagePullPolicy: (item.imagePullPolicy as Job['imagePullPolicy'] | undefined) ?? 'IfNotPresent',
    labels: (item.labels as Record<string, string> | undefined) ?? {},
    attempt: item.attempt as number,
    exitCode: (item.exitCode as number | null | undefined) ?? null,
    reason: (item.reason as string | null | undefined) ?? null,
    reasonCode: (item.reasonCode as string | undefined) ?? null,
    dependsOn: (item.dependsOn as Dependency[] | undefined) ?? [],
    hold: (item.hold as Hold | undefined) ?? null,
    createdAt: item.createdAt as string,
    startedAt: (item.startedAt as string | null | undefined) ?? null,
    finishedAt: (item.finishedAt as string | null | undefined) ?? null,
    cancelRequested: (item.cancelRequested as boolean | undefined) ?? false,
    cancelRequestedBy: (item.cancelRequestedBy as string | null | undefined) ?? null,
    lease: leaseId
      ? { id: leaseId, workerId: item.leaseWorkerId as string, expiresAt: item.leaseExpiresAt as number }
      : null,
    holdings: (item.holdings as Job['holdings'] | undefined) ?? [],
    array: arrayParentOf(item),
    arrayChild: arrayChildOf(item),
    history: (item.history as StateChange[] | undefined) ?? [],
    attempts: (item.attempts as AttemptRecord[] | undefined) ?? [],
  };
}
