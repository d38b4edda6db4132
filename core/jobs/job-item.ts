import { DEFAULT_RETRY_DELAY_SECONDS, DEFAULT_RETRY_ON, MAX_PRIORITY } from './job.ts';
import type { AttemptRecord, Job, JobState, RetryCondition, StateChange } from './job.ts';
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
 * GSI key attributes that follow the job's state. Transitions rewrite them in the same update; the
 * sparse ones exist only in the state whose work list they serve.
 */
export function stateKeys(job: Pick<Job, 'id' | 'group' | 'state' | 'queue' | 'priority' | 'admittedAt' | 'hold'>) {
  const runnable = isRunnable(job);
  return {
    groupStateKey: `${job.group}#${job.state}`,
    ...(job.state === 'RUNNING' ? { runningKey: job.queue } : {}),
    // Admitted, message maybe not sent: the admission sweeper's list (and the scheduler's count of
    // capacity promised but not claimed yet).
    ...(runnable && job.admittedAt ? { dispatchKey: job.queue } : {}),
    ...(isPending(job) ? { pendingKey: job.queue, pendingSort: pendingSortKey(job) } : {}),
    ...(job.state === 'QUEUED' && job.hold !== null ? { heldKey: job.queue } : {}),
  };
}

export function jobToItem(job: Job): Item {
  const { lease, dispatched: _dispatched, holdings, hold, reasonCode, admittedAt, admittedTo, ...rest } = job;
  return {
    ...jobKey(job.id),
    ...rest,
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
    history: (item.history as StateChange[] | undefined) ?? [],
    attempts: (item.attempts as AttemptRecord[] | undefined) ?? [],
  };
}
