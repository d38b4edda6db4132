import {
  BatchGetCommand,
  BatchWriteCommand,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { DynamoDbAuditLog, TransactionRefusedError, type TransactionAction } from '../audit/dynamodb-audit-log.ts';
import { AUDIT_ACTIONS, type AuditRecord } from '../audit/entry.ts';
import { decodeCursor, encodeCursor } from '../aws/cursor.ts';
import { conditionFailedItem, dependencyFailure, isConditionalCheckFailed, isTransactionCanceled } from '../aws/errors.ts';
import { parseArrayChildId } from '../ids.ts';
import {
  CapacityRefusedError,
  DomainError,
  IdempotencyKeyReusedError,
  JobNotFoundError,
  JobNotInStateError,
  LeaseLostError,
  NotCancellableError,
} from '../errors.ts';
import type { OutputArchiveRecord } from '../events/log-archive.ts';
import { CounterChangedError, type CapacityCounters, type CounterAcquisition } from './capacity-counters.ts';
import type { Hold } from './dependencies.ts';
import { DependencyRelease } from './dependency-release.ts';
import { ArrayCoordinator } from './array-coordinator.ts';
import type { AttemptRecord, Holding, Job, JobState, StateChange } from './job.ts';
import { isTerminal } from './job.ts';
import { arrayCountsGuard, arrayOutcomeReason } from './array-progress.ts';
import { fencedRecord, jobTarget, submitRecord } from './job-audit-records.ts';
import { arrayCountAttribute, dependencyEdgeItem, guardKey, holdsCapacity, itemToJob, jobKey, jobToItem, pendingSortKey, pendingSortKeyAfterGroup, stateKeys, type Item } from './job-item.ts';
import { attemptIndex, fenceValues, LEASE_ATTRIBUTES, withCondition, type UpdateParts } from './job-update.ts';
import type { UsageRecord } from '../usage/usage-record.ts';
import { usageRecordItems } from '../usage/usage-record-item.ts';
import { transitionCondition, type Condition } from './state-machine.ts';
import type {
  ArrayParentTransition,
  AttemptStatus,
  ClaimRequest,
  ListChildrenQuery,
  CreateJobResult,
  FinishRequest,
  IdempotencyGuard,
  JobStore,
  ListJobsQuery,
  Page,
  PendingJobSummary,
  RequeueRequest,
} from './store.ts';

// Kept for callers written before the mapping moved to job-item.ts.
export { itemToJob, jobToItem };

export interface DynamoDbJobStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /**
   * The audit chain every change is recorded in, inside the change's own transaction: a shared
   * log (one per process, so its shard and group commit are shared), or the table to open one on.
   */
  readonly audit: DynamoDbAuditLog | { readonly tableName: string };
  /**
   * Capacity a running job holds besides its worker slot (group quotas, array parallelism): each
   * claim takes from every counter in its transaction, each end of a RUNNING state gives it back.
   */
  readonly counters?: readonly CapacityCounters[];
  /**
   * How a job released from its dependencies' hold gets going (JobService.dispatch). Given, every
   * write of a final state made through this store settles the jobs that wait for it
   * (DependencyRelease) before it returns; absent, only the maintenance sweep releases them.
   */
  readonly dispatch?: (job: Job) => Promise<unknown>;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** A job write's own condition failed (the item as found, when there was one). */
class JobConditionFailed extends Error {
  constructor(readonly found: Item | undefined) {
    super('job condition failed');
  }
}

/** Actions added to a job write's transaction, after the job's own update (index 1, 2, ...). */
interface ExtraActions {
  readonly actions: readonly TransactionAction[];
  /** The error for a refusal of action `i` of `actions` (a capacity counter's condition). */
  readonly refused?: (i: number, found: Item | undefined) => Error;
}

const NO_EXTRA: ExtraActions = { actions: [] };

/** What puts a QUEUED job on the scheduler's lists; a claim or an end removes them all. */
const ADMISSION_ATTRIBUTES = 'pendingKey, pendingSort, dispatchKey, admittedAt, admittedTo';
/** An admitted job is on the holdings list (`runningKey`) until its claim keeps it there or it leaves the queue. */
const ADMITTED_ATTRIBUTES = `${ADMISSION_ATTRIBUTES}, runningKey`;

/** What the pending index copies of a job: what the scheduler decides with (plus the keys). */
export const PENDING_INDEX_ATTRIBUTES = ['id', 'group', 'priority', 'resources', 'attempt', 'retryAt', 'arrayParentKey', 'arrayChildParallelism'] as const;

/** Children cancelled per transaction: 100 actions less the parent's count move, the audit entry and its chain head. */
export const MAX_CHILDREN_PER_CANCEL = 90;

/** A child's move between its array parent's counts, and the error its refused condition means. */
interface ArrayMove {
  readonly action: TransactionAction;
  readonly refused: (found: Record<string, unknown> | undefined) => Error;
}

/** `extra` with the array count move appended as its last action. */
function withArrayMove(extra: ExtraActions, move: ArrayMove | null): ExtraActions {
  if (!move) return extra;
  const last = extra.actions.length;
  return {
    actions: [...extra.actions, move.action],
    refused: (i, found) => (i === last ? move.refused(found) : (extra.refused?.(i, found) ?? new JobConditionFailed(undefined))),
  };
}

/** Claims tried when a capacity counter's limits keep changing under them. */
const CLAIM_COUNTER_ROUNDS = 4;


export class DynamoDbJobStore implements JobStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  readonly audit: DynamoDbAuditLog;
  private readonly counters: readonly CapacityCounters[];
  private readonly release: DependencyRelease | undefined;
  private readonly log: (message: string, fields?: Record<string, unknown>) => void;

  constructor(options: DynamoDbJobStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.counters = options.counters ?? [];
    this.log = options.log ?? (() => undefined);
    const dispatch = options.dispatch;
    // An array child failed for its dependency (aftercorr) ends like any child: its parent follows.
    const arrays = dispatch ? new ArrayCoordinator({ store: this, dispatch, settle: (job) => this.release!.settle(job), log: this.log }) : undefined;
    this.release = dispatch ? new DependencyRelease({ store: this, dispatch, log: this.log, childEnded: (job) => arrays!.childChanged(job) }) : undefined;
    this.audit =
      options.audit instanceof DynamoDbAuditLog
        ? options.audit
        : new DynamoDbAuditLog({ client: options.client, tableName: options.audit.tableName });
  }

  async createJob(job: Job, guard?: IdempotencyGuard): Promise<CreateJobResult> {
    // Stored pending (or held): the scheduler admits it when capacity allows (specs/11-scheduling.md).
    const item = jobToItem({ ...job, admittedAt: null, dispatched: false });
    // The guard, the job and the audit entry are one transaction: there is never a guard without
    // its job, and two racing submits with one key cannot both create a job (the guard's condition
    // lets one win, and only the winner's entry is written).
    const items: TransactionAction[] = [
      { Put: { TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
    ];
    if (guard) items.push(this.guardPut(guard, job.id, new Date(job.createdAt)));
    // The edges first: once the job exists, whoever finishes one of its dependencies can find it
    // (specs/12-arrays-and-dependencies.md). An edge whose job is never created is ignored.
    await this.writeDependencyEdges([job]);
    try {
      await this.audit.transact({ items, record: submitRecord(job), time: new Date(job.createdAt) });
      return { job: { ...job, admittedAt: null, dispatched: false }, created: true };
    } catch (err) {
      if (!(err instanceof TransactionRefusedError)) throw storeFailure(err);
      const guardFailure = err.at(1);
      if (guard && guardFailure) {
        const existing = guardFailure.item ?? (await this.readGuard(guard.key));
        if (!existing) throw dependencyFailure('job store', err);
        if (existing.requestHash !== guard.requestHash) throw new IdempotencyKeyReusedError(existing.jobId as string);
        const original = await this.getJob(existing.jobId as string);
        if (!original) throw new JobNotFoundError(existing.jobId as string);
        return { job: original, created: false };
      }
      if (err.at(0)) throw new JobNotInStateError(job.id, ['(new)'], 'EXISTS');
      throw dependencyFailure('job store', err);
    }
  }

  async markDispatched(jobId: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: jobKey(jobId),
          UpdateExpression: 'REMOVE dispatchKey',
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw new JobNotFoundError(jobId);
      throw dependencyFailure('job store', err);
    }
  }

  admitJob(job: Pick<Job, 'id' | 'attempt'>, now: Date, workerId?: string): Promise<boolean> {
    return this.bookkeeping(job.id, {
      UpdateExpression: workerId === undefined
        ? 'SET dispatchKey = #queue, runningKey = #queue, admittedAt = :at REMOVE pendingKey, pendingSort, admittedTo'
        : 'SET dispatchKey = #queue, runningKey = #queue, admittedAt = :at, admittedTo = :to REMOVE pendingKey, pendingSort',
      ExpressionAttributeNames: { '#queue': 'queue' },
      ExpressionAttributeValues: { ':at': now.toISOString(), ...(workerId === undefined ? {} : { ':to': workerId }) },
    }, transitionCondition('admit', 'QUEUED', { attempt: job.attempt }));
  }

  unadmitJob(job: Pick<Job, 'id' | 'attempt' | 'group' | 'priority'>): Promise<boolean> {
    return this.bookkeeping(job.id, {
      UpdateExpression: 'SET pendingKey = #queue, pendingSort = :psort REMOVE dispatchKey, runningKey, admittedAt, admittedTo',
      ExpressionAttributeNames: { '#queue': 'queue' },
      ExpressionAttributeValues: { ':psort': pendingSortKey(job) },
    }, transitionCondition('unadmit', 'QUEUED', { attempt: job.attempt, priority: job.priority }));
  }

  /** A conditional, unaudited write (admission is bookkeeping, like markDispatched); false when its condition failed. */
  private async bookkeeping(jobId: string, parts: UpdateParts, condition: Condition): Promise<boolean> {
    try {
      await this.client.send(new UpdateCommand({ TableName: this.tableName, Key: jobKey(jobId), ...withCondition(parts, condition) }));
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw dependencyFailure('job store', err);
    }
  }

  async setPriority(jobId: string, priority: number, actor: string, now: Date): Promise<Job> {
    // The sort key is rewritten only while the job is pending; the read tells which write to make,
    // and its condition (attempt, old priority, admission) catches a job that moved meanwhile.
    for (let round = 0; round < 4; round++) {
      const job = await this.getJob(jobId);
      if (!job) throw new JobNotFoundError(jobId);
      if (job.state !== 'QUEUED') throw new JobNotInStateError(jobId, ['QUEUED'], job.state, `job ${jobId} is ${job.state}; only a queued job's priority can change`);
      const pending = job.admittedAt === null;
      const audit: AuditRecord = {
        actor,
        action: AUDIT_ACTIONS.jobPriority,
        target: jobTarget(jobId),
        details: { group: job.group, attempt: job.attempt, from: job.priority, to: priority },
      };
      const base = transitionCondition('reprioritize', 'QUEUED', { attempt: job.attempt, priority: job.priority });
      const condition = {
        ...base,
        expression: `${base.expression} AND ${pending ? 'attribute_not_exists(admittedAt)' : 'attribute_exists(admittedAt)'}`,
      };
      const sort = pending && !job.hold ? { ':psort': pendingSortKey({ ...job, priority }) } : {};
      try {
        return await this.auditedUpdate(jobId, audit, now, {
          UpdateExpression: `SET priority = :p${sort[':psort'] ? ', pendingSort = :psort' : ''}`,
          ExpressionAttributeValues: { ':p': priority, ...sort },
        }, condition);
      } catch (err) {
        if (!(err instanceof JobConditionFailed)) throw storeFailure(err);
      }
    }
    throw new JobNotInStateError(jobId, ['QUEUED'], 'CHANGING', `job ${jobId} kept changing state; try again`);
  }

  async listPendingHeads(queue: string, perGroup: number): Promise<Map<string, PendingJobSummary[]>> {
    // A loose index scan: each query starts past the previous group's keys, so G groups cost G + 1
    // queries of at most `perGroup` items, however many jobs wait (specs/11-scheduling.md, decision 3).
    const heads = new Map<string, PendingJobSummary[]>();
    let after: string | undefined;
    try {
      for (;;) {
        const out = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: 'pending',
            KeyConditionExpression: after === undefined ? 'pendingKey = :q' : 'pendingKey = :q AND pendingSort >= :after',
            ExpressionAttributeValues: { ':q': queue, ...(after === undefined ? {} : { ':after': after }) },
            Limit: perGroup,
          }),
        );
        const items = out.Items ?? [];
        if (items.length === 0) return heads;
        let last = '';
        for (const item of items) {
          const summary = pendingSummary(item);
          const list = heads.get(summary.group) ?? [];
          if (list.length === 0) heads.set(summary.group, list);
          list.push(summary);
          last = summary.group;
        }
        if (!out.LastEvaluatedKey) return heads;
        after = pendingSortKeyAfterGroup(last);
      }
    } catch (err) {
      throw dependencyFailure('job store', err);
    }
  }

  async getJob(jobId: string): Promise<Job | undefined> {
    try {
      const out = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: jobKey(jobId), ConsistentRead: true }),
      );
      return out.Item ? itemToJob(out.Item) : undefined;
    } catch (err) {
      throw dependencyFailure('job store', err);
    }
  }

  async listJobs(query: ListJobsQuery): Promise<Page<Job>> {
    const { group, state, queue } = query;
    // Pick the narrowest index for the filters given; the partition is always inside one group.
    const [indexName, keyName, keyValue] = state
      ? (['byGroupState', 'groupStateKey', `${group}#${state}`] as const)
      : queue
        ? (['byGroupQueue', 'groupQueueKey', `${group}#${queue}`] as const)
        : (['byGroup', 'groupKey', group] as const);
    const startKey = decodeCursor(query.cursor, { pk: 'S', id: 'S', [keyName]: 'S' }, { [keyName]: keyValue });
    const filterOnQueue = state !== undefined && queue !== undefined;
    return this.query({
      IndexName: indexName,
      KeyConditionExpression: '#k = :k',
      ExpressionAttributeNames: { '#k': keyName, ...(filterOnQueue ? { '#queue': 'queue' } : {}) },
      ExpressionAttributeValues: { ':k': keyValue, ...(filterOnQueue ? { ':queue': queue } : {}) },
      ...(filterOnQueue ? { FilterExpression: '#queue = :queue' } : {}),
      ScanIndexForward: false,
      Limit: query.limit,
      ExclusiveStartKey: startKey,
    }, (job) => job.group === group && (!state || job.state === state) && (!queue || job.queue === queue));
  }

  listUndispatchedJobs(queue: string, limit: number, cursor?: string): Promise<Page<Job>> {
    return this.queryWorkList('undispatched', 'dispatchKey', queue, limit, cursor, (job) => job.state === 'QUEUED' && !job.dispatched);
  }

  listAdmittedJobs(queue: string, limit: number, cursor?: string): Promise<Page<Job>> {
    return this.queryWorkList('undispatched', 'dispatchKey', queue, limit, cursor, (job) => job.state === 'QUEUED' && job.admittedAt !== null);
  }

  listRunningJobs(queue: string, limit: number, cursor?: string): Promise<Page<Job>> {
    return this.queryWorkList('running', 'runningKey', queue, limit, cursor, (job) => job.state === 'RUNNING');
  }

  listHoldings(queue: string, limit: number, cursor?: string): Promise<Page<Job>> {
    return this.queryWorkList('running', 'runningKey', queue, limit, cursor, holdsCapacity);
  }

  async claimAttempt(request: ClaimRequest): Promise<Job> {
    // A counter whose limits changed between its read and the transaction is read again.
    for (let round = 1; ; round++) {
      try {
        return await this.claimOnce(request);
      } catch (err) {
        if (!(err instanceof CounterChangedError)) throw err;
        if (round >= CLAIM_COUNTER_ROUNDS) {
          throw new CapacityRefusedError(request.jobId, err.waitingCode, `${err.message}; the claim is tried again later`);
        }
      }
    }
  }

  private async claimOnce(request: ClaimRequest): Promise<Job> {
    const { jobId, group, workerId, leaseId, leaseExpiresAt, expectedAttempt, now } = request;
    const acquisitions = await this.acquireCounters(request);
    const at = now.toISOString();
    const holdings: Holding[] = acquisitions.map((a) => ({ ...a.holding, takenAt: at }));
    const attempt = expectedAttempt + 1;
    const change: StateChange = { at, from: 'QUEUED', to: 'RUNNING', reason: `attempt ${attempt} claimed by ${workerId}` };
    const record: AttemptRecord = { attempt, workerId, startedAt: at, ...(request.costRate ? { costRate: request.costRate } : {}) };
    const audit: AuditRecord = {
      actor: request.actor ?? `worker:${workerId}`,
      action: AUDIT_ACTIONS.jobClaim,
      target: jobTarget(jobId),
      details: { group, attempt, from: 'QUEUED', to: 'RUNNING', workerId, leaseId },
    };
    try {
      return await this.auditedUpdate(jobId, audit, now, {
        UpdateExpression:
          'SET #state = :running, groupStateKey = :gsk, runningKey = #queue, attempt = :attempt, leaseId = :lid, ' +
          'leaseWorkerId = :wid, leaseExpiresAt = :exp, startedAt = :at, exitCode = :null, reason = :null, ' +
          'history = list_append(history, :change), attempts = list_append(attempts, :record)' +
          (holdings.length > 0 ? ', holdings = :holdings ' : ' ') +
          `REMOVE retryAt, ${ADMISSION_ATTRIBUTES}`,
        ExpressionAttributeNames: { '#state': 'state', '#queue': 'queue' },
        ExpressionAttributeValues: {
          ':running': 'RUNNING',
          ':gsk': `${group}#RUNNING`,
          ':attempt': attempt,
          ':lid': leaseId,
          ':wid': workerId,
          ':exp': leaseExpiresAt,
          ':at': at,
          ':null': null,
          ':change': [change],
          ':record': [record],
          ...(holdings.length > 0 ? { ':holdings': holdings } : {}),
        },
      }, transitionCondition('claim', 'RUNNING', { attempt: expectedAttempt }), withArrayMove(
        { actions: acquisitions.map((a) => a.action), refused: (i, found) => acquisitions[i]!.refused(found) },
        await this.claimCountMove(request),
      ));
    } catch (err) {
      if (err instanceof CounterChangedError || err instanceof CapacityRefusedError) throw err;
      throw this.stateError(err, jobId, ['QUEUED']);
    }
  }

  async renewLease(jobId: string, leaseId: string, leaseExpiresAt: number): Promise<Job> {
    try {
      return await this.update(
        jobId,
        { UpdateExpression: 'SET leaseExpiresAt = :exp', ExpressionAttributeValues: { ':exp': leaseExpiresAt } },
        transitionCondition('renewLease', 'RUNNING', { leaseId }),
      );
    } catch (err) {
      throw this.leaseError(err, jobId, leaseId);
    }
  }

  async readAttemptStatus(jobId: string): Promise<AttemptStatus | undefined> {
    try {
      // Eventually consistent, a few attributes: half a read unit (items up to 4 KB), every few
      // seconds of every running attempt. Renewals and every fenced write stay strongly consistent.
      const out = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: jobKey(jobId),
          ProjectionExpression: '#state, attempt, leaseId, cancelRequested, cancelRequestedBy, outputWatchedUntil',
          ExpressionAttributeNames: { '#state': 'state' },
        }),
      );
      const item = out.Item;
      if (!item) return undefined;
      return {
        state: item.state as AttemptStatus['state'],
        attempt: item.attempt as number,
        leaseId: (item.leaseId as string | undefined) ?? null,
        cancelRequested: (item.cancelRequested as boolean | undefined) ?? false,
        cancelRequestedBy: (item.cancelRequestedBy as string | null | undefined) ?? null,
        outputWatchedUntil: typeof item.outputWatchedUntil === 'number' ? item.outputWatchedUntil : null,
      };
    } catch (err) {
      throw dependencyFailure('job store', err);
    }
  }

  async markOutputWatched(jobId: string, untilMs: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: jobKey(jobId),
          UpdateExpression: 'SET outputWatchedUntil = :until',
          ConditionExpression: '#state IN (:queued, :running)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':until': untilMs, ':queued': 'QUEUED', ':running': 'RUNNING' },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw dependencyFailure('job store', err);
    }
  }

  async finishAttempt(request: FinishRequest): Promise<Job> {
    const { to, exitCode, reason } = request;
    const at = request.now.toISOString();
    const i = attemptIndex(request.attempt);
    const audit = fencedRecord(request, to, { exitCode, reason });
    const release = await this.releaseCounters(request.jobId, request.holdings, request.now);
    try {
      return await this.auditedUpdate(request.jobId, audit, request.now, {
        UpdateExpression:
          'SET #state = :to, groupStateKey = :gsk, exitCode = :code, reason = :reason, finishedAt = :at, ' +
          `attempts[${i}].finishedAt = :at, attempts[${i}].exitCode = :code, attempts[${i}].reason = :reason, ` +
          `${outputArchiveSet(i, request)}${usageSet(i, request)}history = list_append(history, :change) REMOVE runningKey, holdings, ${LEASE_ATTRIBUTES}`,
        ExpressionAttributeNames: { '#state': 'state', ...usageName(request) },
        ExpressionAttributeValues: {
          ':to': to,
          ':gsk': `${request.group}#${to}`,
          ':code': exitCode,
          ':reason': reason,
          ':at': at,
          ':change': [{ at, from: 'RUNNING', to, reason } satisfies StateChange],
          ...outputArchiveValue(request),
          ...usageValue(request),
        },
      }, transitionCondition('finish', to, fenceValues(request)), withArrayMove(withUsage(release, this.usagePut(request)), this.arrayCountMove(request.jobId, 'RUNNING', to)));
    } catch (err) {
      throw this.leaseError(err, request.jobId, request.leaseId);
    }
  }

  async requeueAttempt(request: RequeueRequest): Promise<Job> {
    const { exitCode, reason, retryAt } = request;
    const at = request.now.toISOString();
    const i = attemptIndex(request.attempt);
    const audit = fencedRecord(request, 'QUEUED', { exitCode, reason, retryAt });
    const release = await this.releaseCounters(request.jobId, request.holdings, request.now);
    try {
      return await this.auditedUpdate(request.jobId, audit, request.now, {
        UpdateExpression:
          'SET #state = :queued, groupStateKey = :gsk, pendingKey = #queue, pendingSort = :psort, ' +
          'exitCode = :code, reason = :reason, ' +
          `retryAt = :retryAt, attempts[${i}].finishedAt = :at, attempts[${i}].exitCode = :code, ` +
          `attempts[${i}].reason = :reason, ${outputArchiveSet(i, request)}${usageSet(i, request)}history = list_append(history, :change) ` +
          `REMOVE runningKey, holdings, ${LEASE_ATTRIBUTES}`,
        ExpressionAttributeNames: { '#state': 'state', '#queue': 'queue', ...usageName(request) },
        ExpressionAttributeValues: {
          ':queued': 'QUEUED',
          ':gsk': `${request.group}#QUEUED`,
          ':psort': pendingSortKey(await this.sortFields(request.jobId)),
          ':code': exitCode,
          ':reason': reason,
          ':retryAt': retryAt,
          ':at': at,
          ':change': [{ at, from: 'RUNNING', to: 'QUEUED', reason } satisfies StateChange],
          ...outputArchiveValue(request),
          ...usageValue(request),
        },
        // A job someone asked to cancel must not go back to the queue: the caller ends it instead.
      }, transitionCondition('requeue', 'QUEUED', fenceValues(request)), withArrayMove(withUsage(release, this.usagePut(request)), this.arrayCountMove(request.jobId, 'RUNNING', 'QUEUED')));
    } catch (err) {
      throw this.leaseError(err, request.jobId, request.leaseId);
    }
  }

  async requestCancel(jobId: string, actor: string, now: Date): Promise<Job> {
    const at = now.toISOString();
    // A job can move between our read and our conditional write (claimed, or finished); the write's
    // condition catches that and a few rounds settle it.
    for (let round = 0; round < 4; round++) {
      const job = await this.getJob(jobId);
      if (!job) throw new JobNotFoundError(jobId);
      if (isTerminal(job.state)) throw new NotCancellableError(jobId, job.state);
      if (job.state === 'RUNNING' && job.cancelRequested) return job;
      const reason = `cancelled by ${actor}`;
      const audit: AuditRecord =
        job.state === 'QUEUED'
          ? {
              actor,
              action: AUDIT_ACTIONS.jobCancel,
              target: jobTarget(jobId),
              details: { group: job.group, attempt: job.attempt, from: 'QUEUED', to: 'CANCELLED', reason },
            }
          : {
              actor,
              action: AUDIT_ACTIONS.jobCancelRequest,
              target: jobTarget(jobId),
              details: { group: job.group, attempt: job.attempt, state: 'RUNNING' },
            };
      const update: UpdateParts =
        job.state === 'QUEUED'
          ? cancelQueuedUpdate(job.group, reason, actor, at)
          : {
              UpdateExpression: 'SET cancelRequested = :true, cancelRequestedBy = :actor',
              ExpressionAttributeValues: { ':true': true, ':actor': actor },
            };
      const condition =
        job.state === 'QUEUED'
          ? transitionCondition('cancelQueued', 'CANCELLED', { attempt: job.attempt })
          : transitionCondition('requestCancel', 'RUNNING', { attempt: job.attempt });
      try {
        const move = job.state === 'QUEUED' ? withArrayMove(NO_EXTRA, this.arrayCountMove(jobId, 'QUEUED', 'CANCELLED')) : NO_EXTRA;
        return await this.auditedUpdate(jobId, audit, now, update, condition, move);
      } catch (err) {
        if (!(err instanceof JobConditionFailed)) throw storeFailure(err);
      }
    }
    throw new JobNotInStateError(jobId, ['QUEUED', 'RUNNING'], 'CHANGING', `job ${jobId} kept changing state; try again`);
  }

  async failDeadLettered(job: Job, reason: string, now: Date, actor = 'system:dead-letter'): Promise<Job> {
    const at = now.toISOString();
    const audit: AuditRecord = {
      actor,
      action: AUDIT_ACTIONS.jobDeadLetter,
      target: jobTarget(job.id),
      details: { group: job.group, attempt: job.attempt, from: job.state, to: 'FAILED', reason },
    };
    try {
      return await this.auditedUpdate(job.id, audit, now, {
        UpdateExpression:
          'SET #state = :failed, groupStateKey = :gsk, reason = :reason, finishedAt = :at, ' +
          `history = list_append(history, :change) REMOVE runningKey, retryAt, holdings, #hold, heldKey, ${ADMISSION_ATTRIBUTES}, ${LEASE_ATTRIBUTES}`,
        ExpressionAttributeNames: { '#state': 'state', '#hold': 'hold' },
        ExpressionAttributeValues: {
          ':failed': 'FAILED',
          ':gsk': `${job.group}#FAILED`,
          ':reason': reason,
          ':at': at,
          ':change': [{ at, from: job.state, to: 'FAILED', reason } satisfies StateChange],
        },
        // Never end a live attempt: only a waiting job, or one whose lease has run out.
      }, transitionCondition('failDeadLettered', 'FAILED', { attempt: job.attempt, nowMs: now.getTime() }),
      // A RUNNING job's claim held capacity: it is given back with the state.
      withArrayMove(job.state === 'RUNNING' ? this.releaseActions(job.holdings, now) : NO_EXTRA, this.arrayCountMove(job.id, job.state, 'FAILED')));
    } catch (err) {
      throw this.stateError(err, job.id, ['QUEUED', 'RUNNING']);
    }
  }

  async retryFinishedJob(job: Job, actor: string, now: Date, guard?: IdempotencyGuard): Promise<Job> {
    const at = now.toISOString();
    const reason = `retry requested by ${actor}`;
    // Any finished state at the attempt we saw: a replay or a race with another retry fails here.
    const update = withCondition(
      {
      UpdateExpression:
        'SET #state = :queued, groupStateKey = :gsk, pendingKey = #queue, pendingSort = :psort, ' +
        'maxAttempts = :max, reason = :reason, exitCode = :null, finishedAt = :null, retryAt = :null, ' +
        'cancelRequested = :false, cancelRequestedBy = :null, history = list_append(history, :change) ' +
        // A retried job runs: its dependencies are not checked again (specs/12, Dependencies).
        'REMOVE reasonCode',
      ExpressionAttributeNames: { '#state': 'state', '#queue': 'queue' },
      ExpressionAttributeValues: {
        ':queued': 'QUEUED',
        ':gsk': `${job.group}#QUEUED`,
        ':psort': pendingSortKey(job),
        // One more attempt than have run, so the retry is not refused by the attempt budget.
        ':max': Math.max(job.maxAttempts, job.attempt + 1),
        ':reason': reason,
        ':null': null,
        ':false': false,
        ':change': [{ at, from: job.state, to: 'QUEUED', reason } satisfies StateChange],
      },
      },
      transitionCondition('retryFinished', 'QUEUED', { attempt: job.attempt }),
    );
    const maxAttempts = update.ExpressionAttributeValues[':max'] as number;
    const audit: AuditRecord = {
      actor,
      action: AUDIT_ACTIONS.jobRetry,
      target: jobTarget(job.id),
      details: { group: job.group, attempt: job.attempt, from: job.state, to: 'QUEUED', maxAttempts, reason },
    };
    const items: TransactionAction[] = [
      { Update: { TableName: this.tableName, Key: jobKey(job.id), ...update, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } },
    ];
    if (guard) items.push(this.guardPut(guard, job.id, now));
    const move = this.arrayCountMove(job.id, job.state, 'QUEUED');
    if (move) items.push(move.action);
    try {
      await this.audit.transact({ items, record: audit, time: now });
    } catch (err) {
      if (!(err instanceof TransactionRefusedError)) throw storeFailure(err);
      // A replay of the same retry (its guard exists): the job as it is now, whatever it did since.
      const guardFailure = err.at(1);
      if (guard && guardFailure) {
        const existing = guardFailure.item ?? (await this.readGuard(guard.key));
        if (existing && existing.requestHash !== guard.requestHash) throw new IdempotencyKeyReusedError(existing.jobId as string);
        const current = await this.getJob(job.id);
        if (!current) throw new JobNotFoundError(job.id);
        return current;
      }
      const jobFailure = err.at(0);
      if (jobFailure) {
        if (!jobFailure.item) throw new JobNotFoundError(job.id);
        throw new JobNotInStateError(job.id, [job.state], jobFailure.item.state as string);
      }
      throw dependencyFailure('job store', err);
    }
    const current = await this.getJob(job.id);
    if (!current) throw new JobNotFoundError(job.id);
    return current;
  }

  /** The fields of the pending sort key, for a write whose caller did not pass them. */
  private async sortFields(jobId: string): Promise<Pick<Job, 'id' | 'group' | 'priority'>> {
    const job = await this.getJob(jobId);
    if (!job) throw new JobNotFoundError(jobId);
    return job;
  }

  async listDependents(dependencyId: string, limit: number, cursor?: string): Promise<Page<string>> {
    const startKey = decodeCursor(cursor, { pk: 'S', dependencyKey: 'S', dependentId: 'S' }, { dependencyKey: dependencyId });
    try {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'dependents',
          KeyConditionExpression: 'dependencyKey = :d',
          ExpressionAttributeValues: { ':d': dependencyId },
          Limit: limit,
          ExclusiveStartKey: startKey,
        }),
      );
      return { items: (out.Items ?? []).map((i) => i.dependentId as string), nextCursor: encodeCursor(out.LastEvaluatedKey) };
    } catch (err) {
      throw dependencyFailure('job store', err);
    }
  }

  listHeldJobs(queue: string, limit: number, cursor?: string): Promise<Page<Job>> {
    return this.queryWorkList('held', 'heldKey', queue, limit, cursor, (job) => job.state === 'QUEUED' && job.hold !== null);
  }

  async releaseHold(job: Job, reason: string, actor: string, now: Date): Promise<Job> {
    const at = now.toISOString();
    // The keys of the job as runnable come from stateKeys, the one place that decides them.
    const keys = stateKeys({ ...job, state: 'QUEUED', hold: null });
    const names = Object.keys(keys);
    const audit: AuditRecord = {
      actor,
      action: AUDIT_ACTIONS.jobReleaseHold,
      target: jobTarget(job.id),
      details: { group: job.group, attempt: job.attempt, from: 'QUEUED', to: 'QUEUED', hold: job.hold?.code ?? null, reason },
    };
    try {
      return await this.auditedUpdate(job.id, audit, now, {
        UpdateExpression:
          `SET ${names.map((k) => `${k} = :k_${k}`).join(', ')}, history = list_append(history, :change) REMOVE #hold, heldKey`,
        ExpressionAttributeNames: { '#hold': 'hold' },
        ExpressionAttributeValues: {
          ...Object.fromEntries(Object.entries(keys).map(([k, v]) => [`:k_${k}`, v])),
          ':change': [{ at, from: 'QUEUED', to: 'QUEUED', reason } satisfies StateChange],
        },
      }, transitionCondition('releaseHold', 'QUEUED'));
    } catch (err) {
      throw this.stateError(err, job.id, ['QUEUED (held)']);
    }
  }

  async failHeldJob(job: Job, failure: { readonly code: string; readonly reason: string }, actor: string, now: Date): Promise<Job> {
    const at = now.toISOString();
    const audit: AuditRecord = {
      actor,
      action: AUDIT_ACTIONS.jobDependencyFailed,
      target: jobTarget(job.id),
      details: { group: job.group, attempt: job.attempt, from: 'QUEUED', to: 'FAILED', reasonCode: failure.code, reason: failure.reason },
    };
    try {
      return await this.auditedUpdate(job.id, audit, now, {
        UpdateExpression:
          'SET #state = :failed, groupStateKey = :gsk, reason = :reason, reasonCode = :code, finishedAt = :at, ' +
          'history = list_append(history, :change) REMOVE #hold, heldKey, dispatchKey',
        ExpressionAttributeNames: { '#state': 'state', '#hold': 'hold' },
        ExpressionAttributeValues: {
          ':failed': 'FAILED',
          ':gsk': `${job.group}#FAILED`,
          ':reason': failure.reason,
          ':code': failure.code,
          ':at': at,
          ':change': [{ at, from: 'QUEUED', to: 'FAILED', reason: failure.reason } satisfies StateChange],
        },
      }, transitionCondition('failHeld', 'FAILED'), withArrayMove(NO_EXTRA, this.arrayCountMove(job.id, 'QUEUED', 'FAILED')));
    } catch (err) {
      throw this.stateError(err, job.id, ['QUEUED (held)']);
    }
  }

  async rewriteHold(jobId: string, hold: Hold): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: jobKey(jobId),
          ...withCondition({ UpdateExpression: 'SET #hold = :hold', ExpressionAttributeNames: { '#hold': 'hold' }, ExpressionAttributeValues: { ':hold': hold } }, transitionCondition('rewriteHold', 'QUEUED')),
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) return;
      throw dependencyFailure('job store', err);
    }
  }

  /** The edges of new jobs' dependencies, 25 per BatchWriteItem (puts: writing one twice is harmless). */
  private async writeDependencyEdges(jobs: readonly Job[]): Promise<void> {
    const edges = jobs.flatMap((job) => [...new Set(job.dependsOn.map((d) => d.job))].map((id) => dependencyEdgeItem(id, job.id)));
    for (let i = 0; i < edges.length; i += 25) {
      let pending: Record<string, unknown>[] = edges.slice(i, i + 25).map((item) => ({ PutRequest: { Item: item } }));
      for (let round = 0; pending.length > 0; round++) {
        if (round >= 8) throw dependencyFailure('job store', new Error(`${pending.length} dependency edges left unprocessed`));
        if (round > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** round));
        try {
          const out = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending as never } }));
          pending = (out.UnprocessedItems?.[this.tableName] ?? []) as Record<string, unknown>[];
        } catch (err) {
          throw dependencyFailure('job store', err);
        }
      }
    }
  }

  /**
   * After a final state is stored: the jobs waiting for this one are settled. A failure here never
   * fails the write that finished the job (it is committed); the maintenance sweep settles them.
   */
  private async afterFinish(job: Job): Promise<void> {
    if (!this.release) return;
    try {
      await this.release.dependencyFinished(job);
    } catch (err) {
      this.log('could not settle the dependents of a finished job; the maintenance sweep will', { jobId: job.id, error: String(err) });
    }
  }

  async materialiseArrayChildren(parent: Job, children: readonly Job[]): Promise<boolean> {
    const array = parent.array;
    if (!array || children.length === 0) return false;
    // Children held on their aftercorr partners get their edges first, as a submit's job does: once
    // a child exists, its partner's finisher can find it.
    await this.writeDependencyEdges(children);
    // The cursor moves from the value read to past these children, in the transaction that writes
    // them: two materialisers racing for one batch cannot both win (one cursor condition fails),
    // a crash writes all of it or none, and a child written twice is impossible (attribute_not_exists).
    const items: TransactionAction[] = [
      {
        Update: {
          TableName: this.tableName,
          Key: jobKey(parent.id),
          UpdateExpression: 'SET arrayMaterialised = :to',
          ConditionExpression: 'arrayMaterialised = :from AND cancelRequested = :false',
          ExpressionAttributeValues: { ':from': array.materialised, ':to': array.materialised + children.length, ':false': false },
        },
      },
      ...children.map((child) => ({
        Put: { TableName: this.tableName, Item: jobToItem(child), ConditionExpression: 'attribute_not_exists(pk)' },
      })),
    ];
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: items as never }));
      return true;
    } catch (err) {
      if (isTransactionCanceled(err) && err.CancellationReasons?.some((r) => r.Code === 'ConditionalCheckFailed')) return false;
      throw dependencyFailure('job store', err);
    }
  }

  async transitionArrayParent(parent: Job, change: ArrayParentTransition): Promise<Job> {
    const array = parent.array;
    if (!array) throw new RangeError(`job ${parent.id} is not an array`);
    const { name, to, actor, now } = change;
    const at = now.toISOString();
    const reason = change.reason ?? (name === 'finishArray' ? arrayOutcomeReason(array.status) : `${name} (${array.status.RUNNING} running, ${array.status.QUEUED} queued)`);
    const values: Record<string, unknown> = {
      ':to': to,
      ':gsk': `${parent.group}#${to}`,
      ':reason': reason,
      ':change': [{ at, from: parent.state, to, reason } satisfies StateChange],
    };
    const names: Record<string, string> = { '#state': 'state' };
    let expression = 'SET #state = :to, groupStateKey = :gsk, reason = :reason, history = list_append(history, :change)';
    const finishing = to === 'SUCCEEDED' || to === 'FAILED' || to === 'CANCELLED';
    if (finishing) {
      expression += ', finishedAt = :at';
      values[':at'] = at;
    }
    if (to === 'RUNNING' && parent.startedAt === null) {
      expression += ', startedAt = :at';
      values[':at'] = at;
    }
    if (name === 'reopenArray') {
      expression += ', finishedAt = :null, activeArrayKey = #queue';
      values[':null'] = null;
      names['#queue'] = 'queue';
    }
    if (name === 'cancelArray') {
      // Children not materialised yet will never be: they are counted CANCELLED at once.
      const never = array.size - array.materialised;
      expression += ', cancelRequested = :true, cancelRequestedBy = :actor';
      values[':true'] = true;
      values[':actor'] = actor;
      if (never > 0) {
        expression += ` ADD ${arrayCountAttribute('QUEUED')} :minusNever, ${arrayCountAttribute('CANCELLED')} :never`;
        values[':minusNever'] = -never;
        values[':never'] = never;
      }
    }
    // A finished array is off the sweep's list; a cancelled one stays until its children have ended.
    if (to === 'SUCCEEDED' || to === 'FAILED') expression += ' REMOVE activeArrayKey';
    const audit: AuditRecord = {
      actor,
      action: name === 'cancelArray' ? AUDIT_ACTIONS.jobCancel : AUDIT_ACTIONS.jobArrayProgress,
      target: jobTarget(parent.id),
      details: { group: parent.group, from: parent.state, to, reason, arrayStatus: { ...array.status }, materialised: array.materialised },
    };
    try {
      return await this.auditedUpdate(
        parent.id,
        audit,
        now,
        { UpdateExpression: expression, ExpressionAttributeNames: names, ExpressionAttributeValues: values },
        // A cancel's write is right for any counts (its ADDs commute with the children's); only the
        // cursor it computed the never-materialised children from must hold, so running children's
        // moves do not make it lose races against them.
        transitionCondition(name, to, { arrayCounts: name === 'cancelArray' ? { arrayMaterialised: array.materialised } : arrayCountsGuard(array) }),
      );
    } catch (err) {
      throw this.stateError(err, parent.id, [parent.state]);
    }
  }

  async cancelQueuedChildren(parent: Job, children: readonly Job[], actor: string, now: Date): Promise<string[]> {
    let queued = children.filter((c) => c.state === 'QUEUED' && c.arrayChild?.parentId === parent.id);
    if (queued.length > MAX_CHILDREN_PER_CANCEL) throw new RangeError(`at most ${MAX_CHILDREN_PER_CANCEL} children per cancel`);
    // A child claimed (or cancelled) since it was read refuses the whole write: it is left out and
    // the rest tried again, so a few racing claims do not send every child down the slow path.
    for (let round = 0; round < 4 && queued.length > 0; round++) {
      const refused = await this.cancelQueuedBatch(parent, queued, actor, now);
      if (refused === null) return queued.map((c) => c.id);
      if (refused.length === 0) break;
      queued = queued.filter((_, i) => !refused.includes(i));
    }
    return [];
  }

  /** One cancel write for `queued`: null when it committed, else the indices of the children that refused it. */
  private async cancelQueuedBatch(parent: Job, queued: readonly Job[], actor: string, now: Date): Promise<number[] | null> {
    const at = now.toISOString();
    const reason = `cancelled by ${actor} (array ${parent.id} cancelled)`;
    // Each child's own cancel (the same update and condition as cancelQueued), and one move of the
    // parent's counts for all of them: a transaction may touch the parent only once.
    const items: TransactionAction[] = queued.map((child) => ({
      Update: {
        TableName: this.tableName,
        Key: jobKey(child.id),
        ...withCondition(cancelQueuedUpdate(child.group, reason, actor, at), transitionCondition('cancelQueued', 'CANCELLED', { attempt: child.attempt })),
      },
    }));
    items.push({
      Update: {
        TableName: this.tableName,
        Key: jobKey(parent.id),
        UpdateExpression: 'ADD #from :minus, #to :n',
        ExpressionAttributeNames: { '#from': arrayCountAttribute('QUEUED'), '#to': arrayCountAttribute('CANCELLED') },
        ExpressionAttributeValues: { ':minus': -queued.length, ':n': queued.length },
      },
    });
    // One entry names every child the write cancelled, as their cancels' own entries would.
    const audit: AuditRecord = {
      actor,
      action: AUDIT_ACTIONS.jobCancel,
      target: jobTarget(parent.id),
      details: { group: parent.group, from: 'QUEUED', to: 'CANCELLED', reason, children: queued.map((c) => c.id) },
    };
    try {
      await this.audit.transact({ items, record: audit, time: now });
      return null;
    } catch (err) {
      if (err instanceof TransactionRefusedError) return err.failed.map((f) => f.index).filter((i) => i < queued.length);
      throw storeFailure(err);
    }
  }

  async retireArray(parent: Job): Promise<boolean> {
    if (!parent.array) return false;
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: jobKey(parent.id),
          UpdateExpression: 'REMOVE activeArrayKey',
          // Only once nothing of it can change any more: every child has ended.
          ConditionExpression: `${arrayCountAttribute('QUEUED')} = :zero AND ${arrayCountAttribute('RUNNING')} = :zero`,
          ExpressionAttributeValues: { ':zero': 0 },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw dependencyFailure('job store', err);
    }
  }

  listActiveArrays(queue: string, limit: number, cursor?: string): Promise<Page<Job>> {
    return this.queryWorkList('activeArrays', 'activeArrayKey', queue, limit, cursor, (job) => job.array !== null && job.array !== undefined);
  }

  async listArrayChildren(query: ListChildrenQuery): Promise<Page<Job>> {
    const startKey = decodeCursor(query.cursor, { pk: 'S', arrayParentKey: 'S', arrayIndex: 'N' }, { arrayParentKey: query.parentId });
    const states = query.states ?? [];
    const values: Record<string, unknown> = { ':p': query.parentId };
    states.forEach((state, i) => (values[`:s${i}`] = state));
    return this.query({
      IndexName: 'byArrayParent',
      KeyConditionExpression: 'arrayParentKey = :p',
      ExpressionAttributeValues: values,
      ...(states.length > 0
        ? { FilterExpression: `#state IN (${states.map((_, i) => `:s${i}`).join(', ')})`, ExpressionAttributeNames: { '#state': 'state' } }
        : {}),
      ScanIndexForward: true,
      Limit: query.limit,
      ExclusiveStartKey: startKey,
      // The index may lag the table: the state filter is applied again to the jobs as read.
    }, (job) => states.length === 0 || states.includes(job.state));
  }

  /**
   * The move of one child between its parent's counts, in the child's own state-change transaction
   * (so the counts are exact the moment the change commits); null for a job that is no array's child.
   * The id names the parent, so no read is needed.
   */
  private arrayCountMove(jobId: string, from: JobState, to: JobState, parallelism: number | null = null): ArrayMove | null {
    const child = parseArrayChildId(jobId);
    if (!child || from === to) return null;
    const throttled = parallelism !== null;
    // A claim also needs the parent not cancelled: a child admitted before its parent's cancel
    // reached it does not start (the cancel, or the sweep finishing it, cancels it instead).
    const claim = from === 'QUEUED' && to === 'RUNNING';
    const conditions = ['attribute_exists(pk)', ...(claim ? ['cancelRequested = :false'] : []), ...(throttled ? ['#running < :limit'] : [])];
    return {
      action: {
        Update: {
          TableName: this.tableName,
          Key: jobKey(child.parentId),
          UpdateExpression: 'ADD #from :minus, #to :one',
          // The parallelism throttle: a claim takes a running slot only while fewer than K run.
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: {
            '#from': arrayCountAttribute(from),
            '#to': arrayCountAttribute(to),
            ...(throttled ? { '#running': arrayCountAttribute('RUNNING') } : {}),
          },
          ExpressionAttributeValues: { ':minus': -1, ':one': 1, ...(claim ? { ':false': false } : {}), ...(throttled ? { ':limit': parallelism } : {}) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      refused: (found) =>
        found?.cancelRequested === true
          ? new JobNotInStateError(jobId, ['QUEUED'], 'QUEUED', `array ${child.parentId} was cancelled: its child ${jobId} does not start`)
          : new CapacityRefusedError(jobId, 'ArrayThrottle', `array ${child.parentId} already runs its ${parallelism} children at once (its parallelism)`),
    };
  }

  private async claimCountMove(request: ClaimRequest): Promise<ArrayMove | null> {
    if (!parseArrayChildId(request.jobId)) return null;
    const job = request.job ?? (await this.getJob(request.jobId));
    return this.arrayCountMove(request.jobId, 'QUEUED', 'RUNNING', job?.arrayChild?.parallelism ?? null);
  }

  /** Each counter's conditional take for a claim (none when no counters are configured). */
  private async acquireCounters(request: ClaimRequest): Promise<CounterAcquisition[]> {
    if (this.counters.length === 0) return [];
    const job = request.job ?? (await this.getJob(request.jobId));
    if (!job) throw new JobNotFoundError(request.jobId);
    const taken = await Promise.all(this.counters.map((c) => c.acquire(job)));
    return taken.filter((a): a is CounterAcquisition => a !== null);
  }

  /**
   * The give-back of what the attempt's claim took. The holdings are read when the caller did not
   * pass them: they are fixed for the life of a lease, and the write that uses them is fenced on
   * that lease, so the read cannot be stale for the write it feeds.
   */
  private async releaseCounters(jobId: string, holdings: readonly Holding[] | undefined, now: Date): Promise<ExtraActions> {
    if (this.counters.length === 0) return NO_EXTRA;
    return this.releaseActions(holdings ?? (await this.getJob(jobId))?.holdings ?? [], now);
  }

  private releaseActions(holdings: readonly Holding[], releasedAt: Date): ExtraActions {
    return {
      actions: holdings.map((holding) => {
        const counter = this.counters.find((c) => c.kind === holding.kind);
        // A holding whose counter is no longer configured cannot be given back; refusing the write
        // would strand the job RUNNING, so the state change goes ahead without it.
        return counter?.release(holding, releasedAt);
      }).filter((a): a is TransactionAction => a !== undefined),
    };
  }

  /**
   * The idempotency guard's conditional put: it succeeds for a new key or one whose TTL has passed
   * (DynamoDB deletes expired items lazily), and hands back the existing guard when it fails.
   */
  private guardPut(guard: IdempotencyGuard, jobId: string, now: Date): TransactionAction {
    return {
      Put: {
        TableName: this.tableName,
        Item: { ...guardKey(guard.key), jobId, requestHash: guard.requestHash, expiresAt: guard.expiresAt },
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
        ExpressionAttributeValues: { ':now': Math.floor(now.getTime() / 1000) },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
  }

  /** The attempt's usage record (core/usage/usage-record-item.ts), put in the transaction that ends the attempt. */
  private usagePut(request: { usage?: UsageRecord }): TransactionAction[] {
    return request.usage ? usageRecordItems(request.usage).map((Item) => ({ Put: { TableName: this.tableName, Item } })) : [];
  }

  private async readGuard(key: string): Promise<Item | undefined> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: guardKey(key), ConsistentRead: true }));
    return out.Item;
  }

  /**
   * The update and its audit entry as one transaction, then the job as it is now (a transaction
   * cannot return the updated item; the read is strongly consistent). A failed condition of the
   * update throws JobConditionFailed with the item as found, and no entry is written.
   */
  private async auditedUpdate(
    jobId: string,
    record: AuditRecord,
    now: Date,
    parts: UpdateParts,
    condition: Condition,
    extra: ExtraActions = NO_EXTRA,
  ): Promise<Job> {
    const update = withCondition(parts, condition);
    try {
      await this.audit.transact({
        items: [
          { Update: { TableName: this.tableName, Key: jobKey(jobId), ...update, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } },
          ...extra.actions,
        ],
        record,
        time: now,
      });
    } catch (err) {
      if (err instanceof TransactionRefusedError) {
        const own = err.at(0);
        // The job's own condition first: a claim of a job that moved on is that, whatever the counters say.
        if (own || !extra.refused) throw new JobConditionFailed(own?.item);
        const counter = err.failed.find((f) => f.index > 0);
        throw counter ? extra.refused(counter.index - 1, counter.item) : new JobConditionFailed(undefined);
      }
      throw err;
    }
    const job = await this.getJob(jobId);
    if (!job) throw new JobNotFoundError(jobId);
    // Every write of a final state passes here: the one place its dependents are released from.
    if (isTerminal(job.state)) await this.afterFinish(job);
    return job;
  }

  private async update(jobId: string, parts: UpdateParts, condition: Condition): Promise<Job> {
    const out = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: jobKey(jobId),
        ...withCondition(parts, condition),
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return itemToJob(out.Attributes!);
  }

  private stateError(err: unknown, jobId: string, expected: string[]): Error {
    const failed = conditionFailure(err);
    if (!failed) return storeFailure(err);
    const { found } = failed;
    if (!found) return new JobNotFoundError(jobId);
    return new JobNotInStateError(jobId, expected, found.state as string);
  }

  private leaseError(err: unknown, jobId: string, leaseId: string): Error {
    const failed = conditionFailure(err);
    if (!failed) return storeFailure(err);
    const { found } = failed;
    if (!found) return new JobNotFoundError(jobId);
    return new LeaseLostError(jobId, leaseId, {
      state: found.state as string,
      leaseId: (found.leaseId as string | undefined) ?? null,
      attempt: found.attempt as number,
      cancelRequested: (found.cancelRequested as boolean | undefined) ?? false,
    });
  }

  private queryWorkList(indexName: string, keyName: string, queue: string, limit: number, cursor: string | undefined, inPartition: (job: Job) => boolean) {
    const startKey = decodeCursor(cursor, { pk: 'S', id: 'S', [keyName]: 'S' }, { [keyName]: queue });
    return this.query({
      IndexName: indexName,
      KeyConditionExpression: '#k = :q',
      ExpressionAttributeNames: { '#k': keyName },
      ExpressionAttributeValues: { ':q': queue },
      ScanIndexForward: true,
      Limit: limit,
      ExclusiveStartKey: startKey,
    }, inPartition);
  }

  /**
   * A page of an index, as whole jobs: the job indexes hold keys only (core/resources.ts), so the
   * page's jobs are read from the table in one BatchGetItem, in the index's order. A job that left
   * the index's partition since the index saw it (its state moved on, or it is gone) is left out,
   * as the index itself will soon leave it out.
   */
  private async query(input: Omit<ConstructorParameters<typeof QueryCommand>[0], 'TableName'>, inPartition?: (job: Job) => boolean): Promise<Page<Job>> {
    try {
      const out = await this.client.send(new QueryCommand({ TableName: this.tableName, ...input }));
      const ids = (out.Items ?? []).map((i) => i.id as string);
      const jobs = await this.readJobs(ids);
      const items = ids.map((id) => jobs.get(id)).filter((j): j is Job => j !== undefined && (inPartition?.(j) ?? true));
      return { items, nextCursor: encodeCursor(out.LastEvaluatedKey) };
    } catch (err) {
      throw storeFailure(err);
    }
  }

  /** Jobs by id (at most 100, one page), strongly consistent; keys DynamoDB left unprocessed are asked again. */
  private async readJobs(ids: readonly string[]): Promise<Map<string, Job>> {
    const found = new Map<string, Job>();
    let keys: Record<string, unknown>[] = ids.map(jobKey);
    for (let round = 0; keys.length > 0; round++) {
      if (round > 8) throw dependencyFailure('job store', new Error(`BatchGetItem left ${keys.length} keys unprocessed`));
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** round)));
      const out = await this.client.send(
        new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of out.Responses?.[this.tableName] ?? []) found.set(item.id as string, itemToJob(item));
      keys = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    return found;
  }
}

/**
 * QUEUED → CANCELLED of one job, alone or as a child in an array's cancel batch: off every list a
 * queued job can be on (pending, admitted, held, and the dropped `queued` index's key of old items).
 */
function cancelQueuedUpdate(group: string, reason: string, actor: string, at: string): UpdateParts {
  return {
    UpdateExpression:
      'SET #state = :cancelled, groupStateKey = :gsk, reason = :reason, finishedAt = :at, ' +
      'cancelRequested = :true, cancelRequestedBy = :actor, history = list_append(history, :change) ' +
      `REMOVE queuedKey, retryAt, #hold, heldKey, ${ADMITTED_ATTRIBUTES}`,
    ExpressionAttributeNames: { '#state': 'state', '#hold': 'hold' },
    ExpressionAttributeValues: {
      ':cancelled': 'CANCELLED',
      ':gsk': `${group}#CANCELLED`,
      ':reason': reason,
      ':at': at,
      ':true': true,
      ':actor': actor,
      ':change': [{ at, from: 'QUEUED', to: 'CANCELLED', reason } satisfies StateChange],
    },
  };
}

function pendingSummary(item: Item): PendingJobSummary {
  return {
    id: item.id as string,
    group: item.group as string,
    priority: (item.priority as number | undefined) ?? 0,
    gpus: ((item.resources as Job['resources'] | undefined)?.gpus) ?? 0,
    attempt: (item.attempt as number | undefined) ?? 0,
    retryAt: (item.retryAt as string | null | undefined) ?? null,
    ...(typeof item.arrayParentKey === 'string' && typeof item.arrayChildParallelism === 'number'
      ? { arrayThrottle: { parentId: item.arrayParentKey, parallelism: item.arrayChildParallelism } }
      : {}),
  };
}

/** The item a failed job condition saw, from a plain update or from an audited transaction. */
function conditionFailure(err: unknown): { found: Item | undefined } | undefined {
  if (err instanceof JobConditionFailed) return { found: err.found };
  if (isConditionalCheckFailed(err)) return { found: conditionFailedItem(err) };
  return undefined;
}

/** Domain errors (DependencyError from the audit log included) pass; anything else is a dependency failure. */
function storeFailure(err: unknown): Error {
  return err instanceof DomainError ? err : dependencyFailure('job store', err);
}

/** The attempt's log archive is recorded in the same write that ends the attempt. */
function outputArchiveSet(i: number, request: { logArchive?: OutputArchiveRecord }): string {
  return request.logArchive ? `attempts[${i}].logArchive = :logArchive, ` : '';
}

function outputArchiveValue(request: { logArchive?: OutputArchiveRecord }): Record<string, unknown> {
  return request.logArchive ? { ':logArchive': request.logArchive } : {};
}

/** The attempt's usage is recorded on its attempt record in the write that ends it (and as a usage record beside it). */
function usageSet(i: number, request: { usage?: UsageRecord }): string {
  return request.usage ? `attempts[${i}].#usage = :usage, ` : '';
}

/** `usage` is a DynamoDB reserved word: the expression names it through `#usage`. */
function usageName(request: { usage?: UsageRecord }): Record<string, string> {
  return request.usage ? { '#usage': 'usage' } : {};
}

function usageValue(request: { usage?: UsageRecord }): Record<string, unknown> {
  if (!request.usage) return {};
  const { wallSeconds, gpuSeconds, cpuSeconds, peakMemoryBytes, costUsd } = request.usage;
  return { ':usage': { wallSeconds, gpuSeconds, cpuSeconds, peakMemoryBytes, costUsd } };
}

/** The counter give-backs with the attempt's usage records after them (a refusal's index still points at its counter). */
function withUsage(extra: ExtraActions, usage: readonly TransactionAction[]): ExtraActions {
  return { ...extra, actions: [...extra.actions, ...usage] };
}
