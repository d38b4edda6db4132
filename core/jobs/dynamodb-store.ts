import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor } from '../aws/cursor.ts';
import { conditionFailedItem, dependencyFailure, isConditionalCheckFailed } from '../aws/errors.ts';
import { JobNotFoundError, JobNotInStateError, LeaseLostError, NotCancellableError } from '../errors.ts';
import type { AttemptRecord, Job, JobState, StateChange } from './job.ts';
import { isTerminal } from './job.ts';
import type { ClaimRequest, FinishRequest, JobStore, ListJobsQuery, Page } from './store.ts';

type Item = Record<string, unknown>;

const jobKey = (jobId: string) => ({ pk: `JOB#${jobId}` });

/** GSI key attributes that follow the job's state; written with every transition. */
function stateKeys(group: string, state: JobState, queue: string) {
  return {
    groupStateKey: `${group}#${state}`,
    // Sparse index of waiting jobs, partitioned per queue so one busy queue has its own partition.
    ...(state === 'QUEUED' ? { queuedKey: queue } : {}),
  };
}

export function jobToItem(job: Job): Item {
  const { lease, ...rest } = job;
  return {
    ...jobKey(job.id),
    ...rest,
    groupKey: job.group,
    groupQueueKey: `${job.group}#${job.queue}`,
    ...stateKeys(job.group, job.state, job.queue),
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
    resources: item.resources as Job['resources'],
    labels: (item.labels as Record<string, string> | undefined) ?? {},
    attempt: item.attempt as number,
    exitCode: (item.exitCode as number | null | undefined) ?? null,
    reason: (item.reason as string | null | undefined) ?? null,
    createdAt: item.createdAt as string,
    startedAt: (item.startedAt as string | null | undefined) ?? null,
    finishedAt: (item.finishedAt as string | null | undefined) ?? null,
    cancelRequested: (item.cancelRequested as boolean | undefined) ?? false,
    cancelRequestedBy: (item.cancelRequestedBy as string | null | undefined) ?? null,
    lease: leaseId
      ? { id: leaseId, workerId: item.leaseWorkerId as string, expiresAt: item.leaseExpiresAt as number }
      : null,
    history: (item.history as StateChange[] | undefined) ?? [],
    attempts: (item.attempts as AttemptRecord[] | undefined) ?? [],
  };
}

export interface DynamoDbJobStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

export class DynamoDbJobStore implements JobStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(options: DynamoDbJobStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async createJob(job: Job): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: jobToItem(job),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw new JobNotInStateError(job.id, ['(new)'], 'EXISTS');
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
    const startKey = decodeCursor(query.cursor, ['pk', 'id', keyName], { [keyName]: keyValue });
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

  async listQueuedJobs(queue: string, limit: number, cursor?: string): Promise<Page<Job>> {
    const startKey = decodeCursor(cursor, ['pk', 'id', 'queuedKey'], { queuedKey: queue });
    return this.query({
      IndexName: 'queued',
      KeyConditionExpression: 'queuedKey = :q',
      ExpressionAttributeValues: { ':q': queue },
      ScanIndexForward: true,
      Limit: limit,
      ExclusiveStartKey: startKey,
    });
  }

  async claimAttempt(request: ClaimRequest): Promise<Job> {
    const { jobId, group, workerId, leaseId, leaseExpiresAt, expectedAttempt, now } = request;
    const at = now.toISOString();
    const attempt = expectedAttempt + 1;
    const change: StateChange = { at, from: 'QUEUED', to: 'RUNNING', reason: `attempt ${attempt} claimed by ${workerId}` };
    const record: AttemptRecord = { attempt, workerId, startedAt: at };
    return this.transition(jobId, ['QUEUED'], {
      UpdateExpression:
        'SET #state = :running, groupStateKey = :gsk, attempt = :attempt, leaseId = :lid, leaseWorkerId = :wid, ' +
        'leaseExpiresAt = :exp, startedAt = :at, exitCode = :null, reason = :null, ' +
        'history = list_append(history, :change), attempts = list_append(attempts, :record) REMOVE queuedKey',
      // The attempt check makes two racing claims of one message produce exactly one attempt.
      ConditionExpression: '#state = :queued AND attempt = :expected AND cancelRequested = :false',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: {
        ':running': 'RUNNING',
        ':queued': 'QUEUED',
        ':gsk': `${group}#RUNNING`,
        ':attempt': attempt,
        ':expected': expectedAttempt,
        ':lid': leaseId,
        ':wid': workerId,
        ':exp': leaseExpiresAt,
        ':at': at,
        ':null': null,
        ':false': false,
        ':change': [change],
        ':record': [record],
      },
    });
  }

  async renewLease(jobId: string, leaseId: string, leaseExpiresAt: number): Promise<Job> {
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: jobKey(jobId),
          UpdateExpression: 'SET leaseExpiresAt = :exp',
          ConditionExpression: '#state = :running AND leaseId = :lid',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':exp': leaseExpiresAt, ':running': 'RUNNING', ':lid': leaseId },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return itemToJob(out.Attributes!);
    } catch (err) {
      throw this.leaseError(err, jobId, leaseId);
    }
  }

  async finishAttempt(request: FinishRequest): Promise<Job> {
    const { jobId, group, leaseId, attempt, to, exitCode, reason, now } = request;
    const at = now.toISOString();
    const change: StateChange = { at, from: 'RUNNING', to, reason };
    const index = attempt - 1;
    if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`bad attempt ${attempt}`);
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: jobKey(jobId),
          UpdateExpression:
            'SET #state = :to, groupStateKey = :gsk, exitCode = :code, reason = :reason, finishedAt = :at, ' +
            `attempts[${index}].finishedAt = :at, attempts[${index}].exitCode = :code, attempts[${index}].reason = :reason, ` +
            'history = list_append(history, :change) REMOVE leaseId, leaseWorkerId, leaseExpiresAt',
          // Fencing: only the holder of the current lease may end the attempt.
          ConditionExpression: '#state = :running AND leaseId = :lid AND attempt = :attempt',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':to': to,
            ':gsk': `${group}#${to}`,
            ':code': exitCode,
            ':reason': reason,
            ':at': at,
            ':change': [change],
            ':running': 'RUNNING',
            ':lid': leaseId,
            ':attempt': attempt,
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return itemToJob(out.Attributes!);
    } catch (err) {
      throw this.leaseError(err, jobId, leaseId);
    }
  }

  async releaseAttempt(request: Omit<FinishRequest, 'to' | 'exitCode'>): Promise<Job> {
    const { jobId, group, leaseId, attempt, reason, now } = request;
    const at = now.toISOString();
    const index = attempt - 1;
    if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`bad attempt ${attempt}`);
    const change: StateChange = { at, from: 'RUNNING', to: 'QUEUED', reason };
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: jobKey(jobId),
          UpdateExpression:
            'SET #state = :queued, groupStateKey = :gsk, queuedKey = #queue, reason = :reason, ' +
            `attempts[${index}].finishedAt = :at, attempts[${index}].reason = :reason, ` +
            'history = list_append(history, :change) REMOVE leaseId, leaseWorkerId, leaseExpiresAt',
          // A job someone asked to cancel must not go back to the queue: the caller ends it instead.
          ConditionExpression: '#state = :running AND leaseId = :lid AND attempt = :attempt AND cancelRequested = :false',
          ExpressionAttributeNames: { '#state': 'state', '#queue': 'queue' },
          ExpressionAttributeValues: {
            ':queued': 'QUEUED',
            ':false': false,
            ':gsk': `${group}#QUEUED`,
            ':reason': reason,
            ':at': at,
            ':change': [change],
            ':running': 'RUNNING',
            ':lid': leaseId,
            ':attempt': attempt,
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return itemToJob(out.Attributes!);
    } catch (err) {
      throw this.leaseError(err, jobId, leaseId);
    }
  }

  async requestCancel(jobId: string, actor: string, now: Date): Promise<Job> {
    const at = now.toISOString();
    // A job can move between our two conditional writes (claimed, or finished); a few rounds settle it.
    for (let round = 0; round < 4; round++) {
      const job = await this.getJob(jobId);
      if (!job) throw new JobNotFoundError(jobId);
      if (isTerminal(job.state)) throw new NotCancellableError(jobId, job.state);
      if (job.state === 'RUNNING' && job.cancelRequested) return job;
      const reason = `cancelled by ${actor}`;
      try {
        const update =
          job.state === 'QUEUED'
            ? {
                UpdateExpression:
                  'SET #state = :cancelled, groupStateKey = :gsk, reason = :reason, finishedAt = :at, ' +
                  'cancelRequested = :true, cancelRequestedBy = :actor, history = list_append(history, :change) REMOVE queuedKey',
                ConditionExpression: '#state = :from',
                ExpressionAttributeValues: {
                  ':cancelled': 'CANCELLED',
                  ':gsk': `${job.group}#CANCELLED`,
                  ':reason': reason,
                  ':at': at,
                  ':true': true,
                  ':actor': actor,
                  ':from': 'QUEUED',
                  ':change': [{ at, from: 'QUEUED', to: 'CANCELLED', reason } satisfies StateChange],
                },
              }
            : {
                UpdateExpression: 'SET cancelRequested = :true, cancelRequestedBy = :actor',
                ConditionExpression: '#state = :from',
                ExpressionAttributeValues: { ':true': true, ':actor': actor, ':from': 'RUNNING' },
              };
        const out = await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: jobKey(jobId),
            ExpressionAttributeNames: { '#state': 'state' },
            ReturnValues: 'ALL_NEW',
            ...update,
          }),
        );
        return itemToJob(out.Attributes!);
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw dependencyFailure('job store', err);
      }
    }
    throw new JobNotInStateError(jobId, ['QUEUED', 'RUNNING'], 'CHANGING', `job ${jobId} kept changing state; try again`);
  }

  private async transition(
    jobId: string,
    expected: JobState[],
    update: {
      UpdateExpression: string;
      ConditionExpression: string;
      ExpressionAttributeNames: Record<string, string>;
      ExpressionAttributeValues: Record<string, unknown>;
    },
  ): Promise<Job> {
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: jobKey(jobId),
          ...update,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return itemToJob(out.Attributes!);
    } catch (err) {
      if (isConditionalCheckFailed(err)) {
        const found = conditionFailedItem(err);
        if (!found) throw new JobNotFoundError(jobId);
        throw new JobNotInStateError(jobId, expected, found.state as string);
      }
      throw dependencyFailure('job store', err);
    }
  }

  private leaseError(err: unknown, jobId: string, leaseId: string): Error {
    if (!isConditionalCheckFailed(err)) return dependencyFailure('job store', err);
    const found = conditionFailedItem(err);
    if (!found) return new JobNotFoundError(jobId);
    return new LeaseLostError(jobId, leaseId, {
      state: found.state as string,
      leaseId: (found.leaseId as string | undefined) ?? null,
      attempt: found.attempt as number,
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
