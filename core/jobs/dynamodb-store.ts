import {
  GetCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { DynamoDbAuditLog, TransactionRefusedError, type TransactionAction } from '../audit/dynamodb-audit-log.ts';
import { AUDIT_ACTIONS, type AuditRecord } from '../audit/entry.ts';
import { decodeCursor, encodeCursor } from '../aws/cursor.ts';
import { conditionFailedItem, dependencyFailure, isConditionalCheckFailed } from '../aws/errors.ts';
import {
  DomainError,
  IdempotencyKeyReusedError,
  JobNotFoundError,
  JobNotInStateError,
  LeaseLostError,
  NotCancellableError,
} from '../errors.ts';
import type { OutputArchiveRecord } from '../events/log-archive.ts';
import type { AttemptRecord, Job, StateChange } from './job.ts';
import { isTerminal } from './job.ts';
import { fencedRecord, jobTarget, submitRecord } from './job-audit-records.ts';
import { guardKey, itemToJob, jobKey, jobToItem, type Item } from './job-item.ts';
import { attemptIndex, fenceValues, LEASE_ATTRIBUTES, withCondition, type UpdateParts } from './job-update.ts';
import type { UsageRecord } from '../usage/usage-record.ts';
import { usageRecordItems } from '../usage/usage-record-item.ts';
import { transitionCondition, type Condition } from './state-machine.ts';
import type {
  ClaimRequest,
  CreateJobResult,
  FinishRequest,
  IdempotencyGuard,
  JobStore,
  ListJobsQuery,
  Page,
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
}

/** A job write's own condition failed (the item as found, when there was one). */
class JobConditionFailed extends Error {
  constructor(readonly found: Item | undefined) {
    super('job condition failed');
  }
}


export class DynamoDbJobStore implements JobStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  readonly audit: DynamoDbAuditLog;

  constructor(options: DynamoDbJobStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.audit =
      options.audit instanceof DynamoDbAuditLog
        ? options.audit
        : new DynamoDbAuditLog({ client: options.client, tableName: options.audit.tableName });
  }

  async createJob(job: Job, guard?: IdempotencyGuard): Promise<CreateJobResult> {
    const item = jobToItem({ ...job, dispatched: false });
    // The guard, the job and the audit entry are one transaction: there is never a guard without
    // its job, and two racing submits with one key cannot both create a job (the guard's condition
    // lets one win, and only the winner's entry is written).
    const items: TransactionAction[] = [
      { Put: { TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
    ];
    if (guard) items.push(this.guardPut(guard, job.id, new Date(job.createdAt)));
    try {
      await this.audit.transact({ items, record: submitRecord(job), time: new Date(job.createdAt) });
      return { job: { ...job, dispatched: false }, created: true };
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
    });
  }

  listQueuedJobs(queue: string, limit: number, cursor?: string): Promise<Page<Job>> {
    return this.queryWorkList('queued', 'queuedKey', queue, limit, cursor);
  }

  listUndispatchedJobs(queue: string, limit: number, cursor?: string): Promise<Page<Job>> {
    return this.queryWorkList('undispatched', 'dispatchKey', queue, limit, cursor);
  }

  listRunningJobs(queue: string, limit: number, cursor?: string): Promise<Page<Job>> {
    return this.queryWorkList('running', 'runningKey', queue, limit, cursor);
  }

  async claimAttempt(request: ClaimRequest): Promise<Job> {
    const { jobId, group, workerId, leaseId, leaseExpiresAt, expectedAttempt, now } = request;
    const at = now.toISOString();
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
          'history = list_append(history, :change), attempts = list_append(attempts, :record) ' +
          'REMOVE queuedKey, dispatchKey, retryAt',
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
        },
      }, transitionCondition('claim', 'RUNNING', { attempt: expectedAttempt }));
    } catch (err) {
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

  async finishAttempt(request: FinishRequest): Promise<Job> {
    const { to, exitCode, reason } = request;
    const at = request.now.toISOString();
    const i = attemptIndex(request.attempt);
    const audit = fencedRecord(request, to, { exitCode, reason });
    try {
      return await this.auditedUpdate(request.jobId, audit, request.now, {
        UpdateExpression:
          'SET #state = :to, groupStateKey = :gsk, exitCode = :code, reason = :reason, finishedAt = :at, ' +
          `attempts[${i}].finishedAt = :at, attempts[${i}].exitCode = :code, attempts[${i}].reason = :reason, ` +
          `${outputArchiveSet(i, request)}${usageSet(i, request)}history = list_append(history, :change) REMOVE runningKey, ${LEASE_ATTRIBUTES}`,
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
      }, transitionCondition('finish', to, fenceValues(request)), this.usagePut(request));
    } catch (err) {
      throw this.leaseError(err, request.jobId, request.leaseId);
    }
  }

  async requeueAttempt(request: RequeueRequest): Promise<Job> {
    const { exitCode, reason, retryAt } = request;
    const at = request.now.toISOString();
    const i = attemptIndex(request.attempt);
    const audit = fencedRecord(request, 'QUEUED', { exitCode, reason, retryAt });
    try {
      return await this.auditedUpdate(request.jobId, audit, request.now, {
        UpdateExpression:
          'SET #state = :queued, groupStateKey = :gsk, queuedKey = #queue, exitCode = :code, reason = :reason, ' +
          `retryAt = :retryAt, attempts[${i}].finishedAt = :at, attempts[${i}].exitCode = :code, ` +
          `attempts[${i}].reason = :reason, ${outputArchiveSet(i, request)}${usageSet(i, request)}history = list_append(history, :change) ` +
          `REMOVE runningKey, ${LEASE_ATTRIBUTES}`,
        ExpressionAttributeNames: { '#state': 'state', '#queue': 'queue', ...usageName(request) },
        ExpressionAttributeValues: {
          ':queued': 'QUEUED',
          ':gsk': `${request.group}#QUEUED`,
          ':code': exitCode,
          ':reason': reason,
          ':retryAt': retryAt,
          ':at': at,
          ':change': [{ at, from: 'RUNNING', to: 'QUEUED', reason } satisfies StateChange],
          ...outputArchiveValue(request),
          ...usageValue(request),
        },
        // A job someone asked to cancel must not go back to the queue: the caller ends it instead.
      }, transitionCondition('requeue', 'QUEUED', fenceValues(request)), this.usagePut(request));
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
          ? {
              UpdateExpression:
                'SET #state = :cancelled, groupStateKey = :gsk, reason = :reason, finishedAt = :at, ' +
                'cancelRequested = :true, cancelRequestedBy = :actor, history = list_append(history, :change) ' +
                'REMOVE queuedKey, dispatchKey, retryAt',
              ExpressionAttributeNames: { '#state': 'state' },
              ExpressionAttributeValues: {
                ':cancelled': 'CANCELLED',
                ':gsk': `${job.group}#CANCELLED`,
                ':reason': reason,
                ':at': at,
                ':true': true,
                ':actor': actor,
                ':change': [{ at, from: 'QUEUED', to: 'CANCELLED', reason } satisfies StateChange],
              },
            }
          : {
              UpdateExpression: 'SET cancelRequested = :true, cancelRequestedBy = :actor',
              ExpressionAttributeValues: { ':true': true, ':actor': actor },
            };
      const condition =
        job.state === 'QUEUED'
          ? transitionCondition('cancelQueued', 'CANCELLED', { attempt: job.attempt })
          : transitionCondition('requestCancel', 'RUNNING', { attempt: job.attempt });
      try {
        return await this.auditedUpdate(jobId, audit, now, update, condition);
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
          `history = list_append(history, :change) REMOVE queuedKey, runningKey, dispatchKey, retryAt, ${LEASE_ATTRIBUTES}`,
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':failed': 'FAILED',
          ':gsk': `${job.group}#FAILED`,
          ':reason': reason,
          ':at': at,
          ':change': [{ at, from: job.state, to: 'FAILED', reason } satisfies StateChange],
        },
        // Never end a live attempt: only a waiting job, or one whose lease has run out.
      }, transitionCondition('failDeadLettered', 'FAILED', { attempt: job.attempt, nowMs: now.getTime() }));
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
        'SET #state = :queued, groupStateKey = :gsk, queuedKey = #queue, dispatchKey = #queue, ' +
        'maxAttempts = :max, reason = :reason, exitCode = :null, finishedAt = :null, retryAt = :null, ' +
        'cancelRequested = :false, cancelRequestedBy = :null, history = list_append(history, :change)',
      ExpressionAttributeNames: { '#state': 'state', '#queue': 'queue' },
      ExpressionAttributeValues: {
        ':queued': 'QUEUED',
        ':gsk': `${job.group}#QUEUED`,
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
    /** Further writes that commit with the job's (after it, so `err.at(0)` stays the job's). */
    alongside: readonly TransactionAction[] = [],
  ): Promise<Job> {
    const update = withCondition(parts, condition);
    try {
      await this.audit.transact({
        items: [{ Update: { TableName: this.tableName, Key: jobKey(jobId), ...update, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } }, ...alongside],
        record,
        time: now,
      });
    } catch (err) {
      if (err instanceof TransactionRefusedError) throw new JobConditionFailed(err.at(0)?.item);
      throw err;
    }
    const job = await this.getJob(jobId);
    if (!job) throw new JobNotFoundError(jobId);
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

  private queryWorkList(indexName: string, keyName: string, queue: string, limit: number, cursor?: string) {
    const startKey = decodeCursor(cursor, { pk: 'S', id: 'S', [keyName]: 'S' }, { [keyName]: queue });
    return this.query({
      IndexName: indexName,
      KeyConditionExpression: '#k = :q',
      ExpressionAttributeNames: { '#k': keyName },
      ExpressionAttributeValues: { ':q': queue },
      ScanIndexForward: true,
      Limit: limit,
      ExclusiveStartKey: startKey,
    });
  }

  private async query(input: Omit<ConstructorParameters<typeof QueryCommand>[0], 'TableName'>): Promise<Page<Job>> {
    try {
      const out = await this.client.send(new QueryCommand({ TableName: this.tableName, ...input }));
      return { items: (out.Items ?? []).map(itemToJob), nextCursor: encodeCursor(out.LastEvaluatedKey) };
    } catch (err) {
      throw dependencyFailure('job store', err);
    }
  }
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
