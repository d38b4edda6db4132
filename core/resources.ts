/**
 * The one definition of Runplane's tables and queues. The CDK stack, the local bootstrap and the
 * tests all read these, so keys, GSIs, TTL attributes and queue settings cannot drift apart.
 */

export type KeyType = 'S' | 'N';

export interface KeySchema {
  readonly name: string;
  readonly type: KeyType;
}

/**
 * What a GSI copies of each item. A write to the table also writes every index whose keys or
 * projected attributes it changes (1 write unit per KB each), so an index that copies the whole
 * item (`ALL`) is rewritten by every change, lease renewals included. `KEYS_ONLY` copies the table
 * and index keys; `INCLUDE` adds the named attributes (ones that never change cost nothing after
 * the first write).
 */
export type IndexProjection =
  | { readonly type: 'ALL' }
  | { readonly type: 'KEYS_ONLY' }
  | { readonly type: 'INCLUDE'; readonly attributes: readonly string[] };

export interface GlobalIndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeySchema;
  readonly sortKey?: KeySchema;
  /** Default ALL. */
  readonly projection?: IndexProjection;
}

const KEYS_ONLY = { type: 'KEYS_ONLY' } as const satisfies IndexProjection;

/** An index's projection, ALL when its definition names none. */
export function indexProjection(index: GlobalIndexDefinition): IndexProjection {
  return index.projection ?? { type: 'ALL' };
}

export interface TableDefinition {
  /** Logical name; the physical name is `${prefix}-${logicalName}`. */
  readonly logicalName: string;
  readonly partitionKey: KeySchema;
  readonly sortKey?: KeySchema;
  readonly globalIndexes: readonly GlobalIndexDefinition[];
  /** Attribute holding an epoch-seconds expiry, when the table has one. */
  readonly ttlAttribute?: string;
}

/**
 * Jobs table. Job items have `pk = JOB#<id>`; idempotency guard items (`pk = IDEMPOTENCY#...`) share
 * the table so a guard and its job are written in one transaction. Every GSI is sparse: only job
 * items carry the GSI key attributes, and `pendingKey` only while the job waits for admission.
 *
 * The job indexes hold keys only (specs/01-data-model.md, decision 1): a query on them reads the
 * jobs themselves with BatchGetItem, so no change of a job (a lease renewal, a history entry)
 * rewrites an index unless it changes that index's key.
 */
export const JOBS_TABLE = {
  logicalName: 'jobs',
  partitionKey: { name: 'pk', type: 'S' },
  globalIndexes: [
    // Per-group listing, newest first (job ids are ULIDs, so they sort by creation time).
    { indexName: 'byGroup', partitionKey: { name: 'groupKey', type: 'S' }, sortKey: { name: 'id', type: 'S' }, projection: KEYS_ONLY },
    {
      indexName: 'byGroupState',
      partitionKey: { name: 'groupStateKey', type: 'S' },
      sortKey: { name: 'id', type: 'S' },
      // The list filters a state's jobs by queue in the query; a job's queue never changes.
      projection: { type: 'INCLUDE', attributes: ['queue'] },
    },
    {
      indexName: 'byGroupQueue',
      partitionKey: { name: 'groupQueueKey', type: 'S' },
      sortKey: { name: 'id', type: 'S' },
      projection: KEYS_ONLY,
    },
    // (No `queued` index: the pending and undispatched lists are the queued work; an index of every
    // QUEUED job cost two write units at submit and two at the claim, and nothing read it.)
    // Sparse: jobs stored but whose message is not known sent yet (the dispatch sweeper's work list).
    {
      indexName: 'undispatched',
      partitionKey: { name: 'dispatchKey', type: 'S' },
      sortKey: { name: 'id', type: 'S' },
      projection: KEYS_ONLY,
    },
    // Sparse: the queue's holdings, jobs RUNNING under a lease and jobs admitted but not claimed
    // yet (the scheduler's count, in one read; the reaper filters the RUNNING ones). Keyed by id,
    // not by lease expiry or state, so lease renewals and claims do not rewrite the index.
    { indexName: 'running', partitionKey: { name: 'runningKey', type: 'S' }, sortKey: { name: 'id', type: 'S' }, projection: KEYS_ONLY },
    // Sparse: runnable QUEUED jobs no scheduler pass admitted yet, per queue, each group's keys
    // contiguous in priority then submit order (core/jobs/job-item.ts pendingSortKey). It carries
    // what the scheduler decides with (an array child's throttle included), so a pass reads no job item.
    {
      indexName: 'pending',
      partitionKey: { name: 'pendingKey', type: 'S' },
      sortKey: { name: 'pendingSort', type: 'S' },
      projection: { type: 'INCLUDE', attributes: ['id', 'group', 'priority', 'resources', 'attempt', 'retryAt', 'arrayParentKey', 'arrayChildParallelism'] },
    },
    // Array children (`arrayParentKey` = the parent's id) in index order: GET /v1/jobs/{id}/children.
    // Their state is projected for the list's state filter; the jobs themselves are read by key.
    {
      indexName: 'byArrayParent',
      partitionKey: { name: 'arrayParentKey', type: 'S' },
      sortKey: { name: 'arrayIndex', type: 'N' },
      projection: { type: 'INCLUDE', attributes: ['id', 'state'] },
    },
    // Sparse: array parents with work left, per queue (the maintenance sweep's list).
    { indexName: 'activeArrays', partitionKey: { name: 'activeArrayKey', type: 'S' }, sortKey: { name: 'id', type: 'S' }, projection: KEYS_ONLY },
    // Sparse: QUEUED jobs held for their dependencies, per queue (the maintenance sweep re-checks them).
    { indexName: 'held', partitionKey: { name: 'heldKey', type: 'S' }, sortKey: { name: 'id', type: 'S' }, projection: KEYS_ONLY },
    // Dependency edges (`pk = DEP#<dependencyId>#<dependentId>`): who waits for a job, found by the
    // writer of its final state (core/jobs/dependency-release.ts).
    {
      indexName: 'dependents',
      partitionKey: { name: 'dependencyKey', type: 'S' },
      sortKey: { name: 'dependentId', type: 'S' },
      projection: KEYS_ONLY,
    },
    // Worker registry items (`pk = WORKER#<id>`), per pool.
    {
      indexName: 'workersByPool',
      partitionKey: { name: 'workerPoolKey', type: 'S' },
      sortKey: { name: 'workerId', type: 'S' },
      // Small items the list shows whole; each report rewrites its item anyway.
      projection: { type: 'ALL' },
    },
    // Artifact records (`pk = ARTIFACT#<jobId>#<attempt>#<path>`), per attempt in path order.
    {
      indexName: 'artifactsByAttempt',
      partitionKey: { name: 'artifactAttemptKey', type: 'S' },
      sortKey: { name: 'artifactPath', type: 'S' },
      // Written once; the list shows whole records.
      projection: { type: 'ALL' },
    },
    // Usage (core/usage/usage-record-item.ts): attempts' usage records by group and by UTC day, and
    // worker lifetimes by when they were last seen, so GET /v1/usage is a query, never a scan. One
    // index for all three: CloudFormation adds a single GSI per table update.
    { indexName: 'usage', partitionKey: { name: 'usageKey', type: 'S' }, sortKey: { name: 'usageSortKey', type: 'S' } },
  ],
  ttlAttribute: 'expiresAt',
} as const satisfies TableDefinition;

/**
 * Job events table: output chunks and lifecycle records, keyed by attempt so attempt 2 can never
 * overwrite or interleave with attempt 1 (`pk = <jobId>#<attempt>`, `seq` contiguous from 1).
 */
export const EVENTS_TABLE = {
  logicalName: 'events',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'seq', type: 'N' },
  globalIndexes: [],
  ttlAttribute: 'expiresAt',
} as const satisfies TableDefinition;

/** Hash-chained audit log (see specs/04-audit-chain.md). */
export const AUDIT_TABLE = {
  logicalName: 'audit',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'seq', type: 'N' },
  globalIndexes: [],
} as const satisfies TableDefinition;

export const TABLES = [JOBS_TABLE, EVENTS_TABLE, AUDIT_TABLE] as const;

export interface QueueDefinition {
  /** Pool name; the physical queue is `${prefix}-${pool}` with its DLQ `${prefix}-${pool}-dlq`. */
  readonly pool: string;
  /** Visibility timeout = the lease a worker holds on a job before it must heartbeat. */
  readonly visibilityTimeoutSeconds: number;
  /** Receives before SQS moves a message to the DLQ. */
  readonly maxReceiveCount: number;
  readonly messageRetentionSeconds: number;
  /** Default `maxAttempts` for jobs submitted to this queue without one. */
  readonly defaultMaxAttempts: number;
}

export const QUEUE_DEFAULTS = {
  visibilityTimeoutSeconds: 60,
  // Each attempt and each hand-back gets a fresh message, so this counts deliveries of one attempt's
  // message that never completed (worker crashes before it could record anything).
  maxReceiveCount: 5,
  messageRetentionSeconds: 4 * 24 * 3600,
  defaultMaxAttempts: 1,
} as const;

export function queueDefinition(pool: string, overrides: Partial<QueueDefinition> = {}): QueueDefinition {
  return { pool, ...QUEUE_DEFAULTS, ...overrides };
}

/** Queues the local platform and the default stack create. */
export const DEFAULT_QUEUES: readonly QueueDefinition[] = [queueDefinition('default'), queueDefinition('gpu')];

export function tableName(prefix: string, table: TableDefinition): string {
  return `${prefix}-${table.logicalName}`;
}

export function queueName(prefix: string, pool: string): string {
  return `${prefix}-${pool}`;
}

export function deadLetterQueueName(prefix: string, pool: string): string {
  return `${prefix}-${pool}-dlq`;
}

/** Pool names are part of queue names: SQS allows 80 characters of [A-Za-z0-9_-]. */
export const POOL_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,39}$/;

/** Days output events stay in the events table (their TTL) unless the stack says otherwise; the log archive keeps them after. */
export const DEFAULT_EVENT_RETENTION_DAYS = 30;
