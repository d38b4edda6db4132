import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { WORKER_REGISTRY_KEY_PREFIX } from '../core/workers/dynamodb-registry.ts';
import { ARTIFACT_KEY_PREFIX } from '../core/artifacts/dynamodb-artifact-store.ts';
import type { TableDefinition } from '../core/resources.ts';
import { LOG_ARCHIVE_PREFIX } from '../core/events/log-archive.ts';
import { WORKER_LIFETIME_PARTITION } from '../core/usage/worker-lifetime.ts';
import { WAITING_BOARD_KEY_PREFIX } from '../core/jobs/dynamodb-waiting-boards.ts';
import { PASS_LEASE_KEY_PREFIX } from '../core/scheduling/dynamodb-pass-lease.ts';
import { POOL_SCALING_KEY_PREFIX } from '../core/scaling/dynamodb-pool-scaling.ts';
import { ADMISSION_UPDATE_ATTRIBUTES } from '../core/jobs/admission-attributes.ts';

/**
 * The DynamoDB permissions Runplane's code needs, named once so the API functions, the worker, the
 * background functions and the deploy-time bootstrap are granted from the same lists, and the
 * tests can assert them. Each grant is exactly the calls one kind of work makes (the store files
 * named below are the source of truth):
 *
 * - A TransactWriteItems call is authorized action by action, as the PutItem / UpdateItem /
 *   DeleteItem / ConditionCheckItem it contains; there is no transaction permission. No code
 *   sends a ConditionCheck, so no grant holds ConditionCheckItem.
 * - Writes to the jobs table are limited by partition key (`dynamodb:LeadingKeys`) to the item
 *   kinds the writer owns: job items and idempotency guards, API keys, worker registry items all
 *   share the table (core/resources.ts), and a worker, whose job processes may reach its task
 *   credentials, must not be able to write an API key item with a hash it chose.
 * - Reads are not limited by key: Query on a GSI is authorized on the index, whose partition key
 *   is not the table's, and reading a key's hash gains nothing (specs/08-auth.md decision 3).
 * - Nothing deletes jobs, events or audit entries (TTL expires them); workers alone delete, and
 *   only their own registry items.
 */
export interface TableGrant {
  readonly actions: readonly string[];
  /** `table`: the table's ARN; `indexes`: each GSI's ARN, named one by one (Query on a GSI is authorized there). */
  readonly on: 'table' | 'indexes';
  /** With `on: 'indexes'`: only this GSI, or these (a writer that needs some lists, not every job listing). */
  readonly index?: string | readonly string[];
  /** Partition-key patterns (StringLike) every item written must match. */
  readonly keys?: readonly string[];
  /** The only attributes the calls may touch (dynamodb:Attributes), the key included. */
  readonly attributes?: readonly string[];
  /**
   * With `attributes`: the only `ReturnValues` the calls may ask for (dynamodb:ReturnValues, when
   * given), so an update cannot read back attributes outside the list (ALL_OLD, ALL_NEW).
   */
  readonly returnValues?: readonly string[];
}

/**
 * Partition keys of the jobs table's item kinds: `JOB#<id>` and `IDEMPOTENCY#<key>`
 * (core/jobs/dynamodb-store.ts), `DEP#<dependency>#<dependent>` (dependency edges,
 * core/jobs/job-item.ts), `APIKEY#<id>` and `APIKEY_INDEX` (core/auth/dynamodb-api-key-store.ts),
 * `WORKER#<id>` (core/workers/dynamodb-registry.ts), `GROUP#<name>` and `GROUP_INDEX`
 * (core/groups/dynamodb-group-store.ts), `SCHEDULER#<queue>` (the scheduler's waiting boards,
 * core/jobs/dynamodb-waiting-boards.ts), `PASSLEASE#<pool>` (who runs a pool's passes,
 * core/scheduling/dynamodb-pass-lease.ts), `SCALING#<pool>` (the scaler's last decision,
 * core/scaling/dynamodb-pool-scaling.ts).
 */
export const JOBS_TABLE_KEYS = {
  job: 'JOB#*',
  dependencyEdge: 'DEP#*',
  idempotencyGuard: 'IDEMPOTENCY#*',
  apiKey: 'APIKEY#*',
  apiKeyIndex: 'APIKEY_INDEX',
  worker: `${WORKER_REGISTRY_KEY_PREFIX}*`,
  artifact: `${ARTIFACT_KEY_PREFIX}*`,
  group: 'GROUP#*',
  groupIndex: 'GROUP_INDEX',
  usage: 'USAGE#*',
  usageByDay: 'USAGEDAY#*',
  workerLifetime: `${WORKER_LIFETIME_PARTITION}#*`,
  waitingBoard: `${WAITING_BOARD_KEY_PREFIX}*`,
  passLease: `${PASS_LEASE_KEY_PREFIX}*`,
  poolScaling: `${POOL_SCALING_KEY_PREFIX}*`,
} as const;

export const JOBS_GRANTS = {
  /** Every authenticated request's key check (GetItem `APIKEY#<id>`), a job or a guard by id. */
  get: { actions: ['dynamodb:GetItem'], on: 'table' },
  /** Job lists (`byGroup*`), sweeps (`undispatched`, `running`), the worker registry (`workersByPool`). */
  query: { actions: ['dynamodb:Query'], on: 'indexes' },
  /** Key listing: one BatchGetItem per page after the index item (DynamoDbApiKeyStore.list); groups by name (the scheduler's and the scaler's quota reads, a queued job's `waiting`). */
  batchGet: { actions: ['dynamodb:BatchGetItem'], on: 'table' },
  /** Submit: a new job and its idempotency guard, both puts in one transaction (nothing is updated). */
  submitJobs: {
    actions: ['dynamodb:PutItem'],
    on: 'table',
    keys: [JOBS_TABLE_KEYS.job, JOBS_TABLE_KEYS.idempotencyGuard],
  },
  /**
   * Who waits for a job (the `dependents` GSI): every writer of a final state settles the jobs that
   * depend on it (core/jobs/dependency-release.ts), so it needs this one list and no other.
   */
  queryDependents: { actions: ['dynamodb:Query'], on: 'indexes', index: 'dependents' },
  /** A submit's dependency edges, 25 a call, before the job itself (DynamoDbJobStore.createJob). */
  recordDependencyEdges: { actions: ['dynamodb:BatchWriteItem'], on: 'table', keys: [JOBS_TABLE_KEYS.dependencyEdge] },
  /**
   * A read of a live job's output marks it followed (DynamoDbJobStore.markOutputWatched): one
   * attribute of job items, nothing else, so a read route cannot change a job's state.
   */
  markOutputWatched: {
    actions: ['dynamodb:UpdateItem'],
    on: 'table',
    keys: [JOBS_TABLE_KEYS.job],
    attributes: ['pk', 'outputWatchedUntil', 'state'],
  },
  /** Retry: a finished job's transition and its idempotency guard in one transaction. */
  createJobs: {
    actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
    on: 'table',
    keys: [JOBS_TABLE_KEYS.job, JOBS_TABLE_KEYS.idempotencyGuard],
  },
  /**
   * Array children written in batches with their parent's cursor (DynamoDbJobStore.materialiseArrayChildren):
   * by the submit, by the worker that ends a child, and by the sweep. Only job items.
   */
  materialiseChildren: { actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'], on: 'table', keys: [JOBS_TABLE_KEYS.job] },
  /** State transitions of existing jobs: cancel, claims and finishes, the sweeper and reaper, dead letters. */
  updateJobs: { actions: ['dynamodb:UpdateItem'], on: 'table', keys: [JOBS_TABLE_KEYS.job] },
  /**
   * The scheduler's admissions (admit, un-admit an unsent one): the list keys of job items and
   * nothing else (core/jobs/admission-attributes.ts), no item read back. Not a state transition.
   */
  admitJobs: {
    actions: ['dynamodb:UpdateItem'],
    on: 'table',
    keys: [JOBS_TABLE_KEYS.job],
    attributes: ADMISSION_UPDATE_ATTRIBUTES,
    returnValues: ['NONE'],
  },
  /**
   * Group items and the names index (core/groups/dynamodb-group-store.ts): a settings change
   * (PUT /v1/groups), and the quota counters that claims take (a group's first claim lists it) and
   * every end of RUNNING gives back (workers, the reaper, the dead-letter consumer).
   */
  writeGroups: { actions: ['dynamodb:UpdateItem'], on: 'table', keys: [JOBS_TABLE_KEYS.group, JOBS_TABLE_KEYS.groupIndex] },
  /** A key item and its id in the index item, one transaction (DynamoDbApiKeyStore.createIfAbsent). */
  createApiKeys: {
    actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
    on: 'table',
    keys: [JOBS_TABLE_KEYS.apiKey, JOBS_TABLE_KEYS.apiKeyIndex],
  },
  /** `revokedAt`/`revokedBy` on a key item (DynamoDbApiKeyStore.revoke). */
  revokeApiKeys: { actions: ['dynamodb:UpdateItem'], on: 'table', keys: [JOBS_TABLE_KEYS.apiKey] },
  /** A worker's heartbeat item, removed when it stops, and its lifetime record, kept (DynamoDbWorkerRegistry). */
  registerWorkers: {
    actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
    on: 'table',
    keys: [JOBS_TABLE_KEYS.worker, JOBS_TABLE_KEYS.workerLifetime],
  },
  /** An ended attempt's usage records, put in the transaction that ends it (core/usage/usage-record-item.ts). */
  recordUsage: { actions: ['dynamodb:PutItem'], on: 'table', keys: [JOBS_TABLE_KEYS.usage, JOBS_TABLE_KEYS.usageByDay] },
  /**
   * What a scheduling pass reads (core/scheduling/scheduler.ts): the pool's pending heads, its
   * RUNNING and admitted jobs, its live workers. No other job listing.
   */
  queryScheduling: { actions: ['dynamodb:Query'], on: 'indexes', index: ['pending', 'running', 'workersByPool'] },
  /** The pool's lease (take it, mark it, renew it, free it: UpdateItem only). */
  passLease: { actions: ['dynamodb:UpdateItem'], on: 'table', keys: [JOBS_TABLE_KEYS.passLease] },
  /** The pass's waiting board, one item per queue, rewritten whole. */
  postWaitingBoards: { actions: ['dynamodb:PutItem'], on: 'table', keys: [JOBS_TABLE_KEYS.waitingBoard] },
  /** The scaler's count of each pool's pending jobs: the `pending` GSI only. */
  queryPending: { actions: ['dynamodb:Query'], on: 'indexes', index: 'pending' },
  /** The scaler's decision per pool, rewritten every run (a waiting job's NoCapacity reads it). */
  postPoolScaling: { actions: ['dynamodb:PutItem'], on: 'table', keys: [JOBS_TABLE_KEYS.poolScaling] },
  /** An attempt's artifact records, 25 a call (DynamoDbArtifactStore.record): only `ARTIFACT#` items. */
  recordArtifacts: { actions: ['dynamodb:BatchWriteItem'], on: 'table', keys: [JOBS_TABLE_KEYS.artifact] },
} as const satisfies Record<string, TableGrant>;

export const EVENTS_GRANTS = {
  /** Pages of one attempt's events (DynamoDbEventStore.list). */
  query: { actions: ['dynamodb:Query'], on: 'table' },
  /** Output batches, 25 puts a call (DynamoDbEventStore.append). */
  append: { actions: ['dynamodb:BatchWriteItem'], on: 'table' },
} as const satisfies Record<string, TableGrant>;

/**
 * Partition keys of the audit table: one per shard chain (`SHARD#<n>`), and the root chain of
 * checkpoints (`ROOT`, core/audit/dynamodb-audit-log.ts chainKey).
 */
export const AUDIT_TABLE_KEYS = { shard: 'SHARD#*', root: 'ROOT' } as const;

export const AUDIT_GRANTS = {
  /**
   * An entry in the change's own transaction (core/audit/dynamodb-audit-log.ts): read the shard's
   * head once (GetItem), then Put the entry and the head inside the TransactWriteItems. Shards
   * only: the root chain, whose checkpoints pin every shard's head, is the checkpoint function's
   * alone, so whoever holds a writer's credentials cannot re-pin a shard they rewrote.
   */
  append: { actions: ['dynamodb:GetItem', 'dynamodb:PutItem'], on: 'table', keys: [AUDIT_TABLE_KEYS.shard] },
  /** `GET /v1/audit` and `/verify`: Query every chain's partition. */
  read: { actions: ['dynamodb:Query'], on: 'table' },
  /** The checkpoint: the root head and last entry (GetItem), every shard head (BatchGetItem), the entry (Put in a transaction). */
  checkpoint: { actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem'], on: 'table' },
} as const satisfies Record<string, TableGrant>;

export type JobsGrant = keyof typeof JOBS_GRANTS;
export type EventsGrant = keyof typeof EVENTS_GRANTS;
export type AuditGrant = keyof typeof AUDIT_GRANTS;

/** One IAM statement, as HandlerFunction.allow and the worker's task role take it. */
export interface GrantStatement {
  readonly actions: string[];
  readonly resources: string[];
  readonly conditions?: Record<string, Record<string, unknown>>;
}

/** The statement `grant` makes on `table`, whose GSIs come from its shared definition. */
export function tableStatement(table: dynamodb.TableV2, definition: TableDefinition, grant: TableGrant): GrantStatement {
  const resources =
    grant.on === 'table'
      ? [table.tableArn]
      : definition.globalIndexes.filter((gsi) => !grant.index || [grant.index].flat().includes(gsi.indexName)).map((gsi) => `${table.tableArn}/index/${gsi.indexName}`);
  if (resources.length === 0) throw new Error(`${definition.logicalName} has no GSI to grant ${grant.actions.join(', ')} on`);
  return {
    actions: [...grant.actions],
    resources,
    ...(grant.keys || grant.attributes || grant.returnValues
      ? {
          conditions: {
            ...(grant.keys ? { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...grant.keys] } } : {}),
            ...(grant.attributes ? { 'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...grant.attributes] } } : {}),
            ...(grant.returnValues ? { StringEqualsIfExists: { 'dynamodb:ReturnValues': [...grant.returnValues] } } : {}),
          },
        }
      : {}),
  };
}

/** Something statements can be added to (a HandlerFunction, the worker's task role). */
export interface Grantee {
  allow(actions: string[], resources: string[], conditions?: Record<string, Record<string, unknown>>): void;
}

export function grantTable(to: Grantee, table: dynamodb.TableV2, definition: TableDefinition, grant: TableGrant): void {
  const s = tableStatement(table, definition, grant);
  to.allow(s.actions, s.resources, s.conditions);
}

/**
 * Prefixes of the artifacts bucket (core/uploads/archive-id.ts, core/artifacts/artifact.ts): work
 * directory archives per group, and artifacts per job and attempt.
 */
export const BUCKET_PREFIXES = { workdirs: 'workdirs/', artifacts: 'artifacts/', logs: LOG_ARCHIVE_PREFIX } as const;

export interface ObjectGrant {
  readonly actions: readonly string[];
  /** Objects under this prefix; `bucket`: the bucket itself (ListBucket). */
  readonly on: keyof typeof BUCKET_PREFIXES | 'bucket';
}

/**
 * S3 permissions, each the calls of one kind of work. A presigned URL acts with the permissions of
 * whoever signed it, so the functions that hand out upload and download URLs hold exactly what the
 * URL does. HeadObject needs s3:GetObject, and answers 403 instead of 404 for a missing key unless
 * the caller may list the bucket: `listBucket` is what makes "no such archive" a clear 400.
 */
export const OBJECT_GRANTS = {
  /** Does a group's archive exist (HeadObject on `workdirs/…`)? Submit and upload. */
  readArchives: { actions: ['s3:GetObject'], on: 'workdirs' },
  listBucket: { actions: ['s3:ListBucket'], on: 'bucket' },
  /** Presigned PUTs and multipart uploads of archives (create, parts, complete are all s3:PutObject). */
  writeArchives: { actions: ['s3:PutObject', 's3:AbortMultipartUpload'], on: 'workdirs' },
  /** Presigned GETs of artifacts. */
  readArtifacts: { actions: ['s3:GetObject'], on: 'artifacts' },
  /** The worker's uploads (lib-storage: PutObject or multipart, aborted on failure) and their HeadObject check. */
  writeArtifacts: { actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject'], on: 'artifacts' },
  /** The worker's upload of each ended attempt's output and index (PutObject or multipart). */
  writeLogArchives: { actions: ['s3:PutObject', 's3:AbortMultipartUpload'], on: 'logs' },
} as const satisfies Record<string, ObjectGrant>;
export type ObjectsGrant = keyof typeof OBJECT_GRANTS;

/** The statement `grant` makes on the artifacts bucket. */
export function objectStatement(bucket: s3.IBucket, grant: ObjectGrant): GrantStatement {
  return {
    actions: [...grant.actions],
    resources: [grant.on === 'bucket' ? bucket.bucketArn : bucket.arnForObjects(`${BUCKET_PREFIXES[grant.on]}*`)],
  };
}

export function grantObjects(to: Grantee, bucket: s3.IBucket, grant: ObjectGrant): void {
  const s = objectStatement(bucket, grant);
  to.allow(s.actions, s.resources, s.conditions);
}
