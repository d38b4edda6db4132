import * as z from 'zod';
import { ROLES } from '../auth/caller.ts';
import { JOB_STATES, retryConditionSchema } from '../jobs/job.ts';
import { type JobView } from '../jobs/job-view.ts';
import { WAITING_CODES } from '../jobs/waiting-reason.ts';
import { DEPENDENCY_TYPES } from '../jobs/dependencies.ts';
import type { AuditPage } from '../audit/audit-log.ts';
import type { VerifyResult } from '../audit/verify.ts';
import type { CreatedApiKey } from '../auth/api-key-service.ts';
import type { ApiKeySummary } from '../auth/api-key-store.ts';
import type { EventPage } from '../events/store.ts';
import type { ErrorBody } from '../http/api-error.ts';
import type { WorkerView } from '../workers/worker-view.ts';
import type { GroupView } from '../groups/group.ts';
import type { UsageReport } from '../usage/usage-service.ts';
import { USAGE_GROUPINGS } from '../usage/usage-report.ts';

/**
 * What the API answers, as zod schemas: the single definition the OpenAPI document
 * (core/api/openapi-document.ts) is generated from, the handlers' outputs are typed against
 * (`ResponseBody`), the integration tests validate every response with, and the CLI's client types
 * are inferred from. Objects are strict: a field the contract does not name (a lease, a key's hash)
 * fails validation instead of leaking unnoticed.
 */

const isoTime = z.string().meta({ format: 'date-time' });
const jobState = z.enum(JOB_STATES);

export const stateChangeSchema = z.strictObject({
  at: isoTime,
  from: jobState.nullable(),
  to: jobState,
  reason: z.string(),
});

export const usageSchema = z
  .strictObject({
    wallSeconds: z.number().meta({ description: 'from the claim to the end of the attempt' }),
    gpuSeconds: z.number().meta({ description: 'wall seconds × GPUs held' }),
    cpuSeconds: z.number().nullable().meta({ description: "user + system CPU time of the job's processes or container; null: not measured (lost worker)" }),
    peakMemoryBytes: z.number().int().nullable().meta({ description: "peak memory of the job's processes or container; null: not measured" }),
    costUsd: z.number().meta({ description: "the pool's price per instance-hour × the attempt's share of the instance × hours held" }),
  })
  .meta({ id: 'Usage' });

export const attemptRecordSchema = z.strictObject({
  attempt: z.number().int(),
  workerId: z.string(),
  startedAt: isoTime,
  finishedAt: isoTime.optional(),
  exitCode: z.number().int().nullable().optional(),
  reason: z.string().optional(),
  logArchive: z
    .strictObject({ key: z.string(), indexKey: z.string(), bytes: z.number().int(), lastSeq: z.number().int(), sha256: z.string() })
    .optional()
    .meta({ description: "the attempt's complete output in the log archive, once the attempt ended" }),
  costRate: z
    .strictObject({ usdPerInstanceHour: z.number(), instanceShare: z.number() })
    .optional()
    .meta({ description: "the price the attempt is charged at: its worker's instance price and the attempt's share of it" }),
  usage: usageSchema.optional().meta({ description: 'what the attempt used and cost, once it ended' }),
});

export const waitingSchema = z
  .strictObject({
    code: z.enum(WAITING_CODES),
    message: z.string(),
    since: isoTime,
    position: z.number().int().min(1).nullable().meta({ description: 'place among the runnable jobs of its queue (1 = next), when known' }),
  })
  .meta({ id: 'Waiting' });

export const jobViewSchema = z
  .strictObject({
    id: z.string(),
    name: z.string().nullable(),
    group: z.string(),
    owner: z.string(),
    state: jobState,
    queue: z.string(),
    command: z.array(z.string()),
    env: z.record(z.string(), z.string()),
    attempt: z.number().int().meta({ description: 'attempts started so far; 0 until a worker claims the job' }),
    maxAttempts: z.number().int(),
    retryOn: z.array(retryConditionSchema),
    retryDelaySeconds: z.number().int(),
    retryAt: isoTime.nullable(),
    exitCode: z.number().int().nullable(),
    reason: z.string().nullable(),
    reasonCode: z
      .string()
      .nullable()
      .meta({ description: 'machine-readable reason where the platform ended the job (DEPENDENCY_NEVER_SATISFIED); null otherwise' }),
    dependsOn: z
      .array(z.strictObject({ job: z.string(), type: z.enum(DEPENDENCY_TYPES) }))
      .meta({ description: 'jobs of the same group this job waits for (Slurm afterok, afterany, afternotok, aftercorr)' }),
    hold: z
      .strictObject({ code: z.enum(['Dependency', 'ArrayThrottle']), message: z.string() })
      .nullable()
      .meta({ description: 'why a QUEUED job is not runnable yet (what it waits for); null when it may run' }),
    createdAt: isoTime,
    startedAt: isoTime.nullable(),
    finishedAt: isoTime.nullable(),
    timeoutSeconds: z.number().int(),
    resources: z.strictObject({ gpus: z.number().int(), cpu: z.number(), memoryMiB: z.number().int() }),
    priority: z.number().int().meta({ description: 'higher starts first within its group; -1000..1000, default 0' }),
    waiting: waitingSchema.nullable().meta({ description: 'why a QUEUED job has not started yet; null unless QUEUED' }),
    labels: z.record(z.string(), z.string()),
    image: z.string().nullable().meta({ description: 'the OCI image the job runs in; null: a sandboxed process' }),
    imagePullPolicy: z.enum(['IfNotPresent', 'Always', 'Never']),
    workdir: z.strictObject({ archive: z.string() }).nullable().meta({ description: 'the work directory archive the job starts in' }),
    artifacts: z.array(z.string()).meta({ description: 'globs of the files stored after the process ends' }),
    cancelRequested: z.boolean(),
    cancelRequestedBy: z.string().nullable(),
    attempts: z.array(attemptRecordSchema),
    history: z.array(stateChangeSchema),
    array: z
      .strictObject({ size: z.number().int(), parallelism: z.number().int().nullable() })
      .nullable()
      .meta({ description: 'set on an array parent: its size and throttle' }),
    arrayStatus: z
      .strictObject({
        total: z.number().int(),
        QUEUED: z.number().int(),
        RUNNING: z.number().int(),
        SUCCEEDED: z.number().int(),
        FAILED: z.number().int(),
        CANCELLED: z.number().int(),
        TIMED_OUT: z.number().int(),
      })
      .nullable()
      .meta({ description: "an array parent's children per state; children not materialised yet count as QUEUED" }),
    arrayParent: z.string().nullable().meta({ description: "an array child's parent id" }),
    arrayIndex: z.number().int().nullable().meta({ description: "an array child's 0-based index (RUNPLANE_ARRAY_INDEX)" }),
    usage: usageSchema.nullable().meta({ description: 'the sum over attempts that ended (peak memory: the largest); null before any ended' }),
  })
  .meta({ id: 'Job' });

export const jobDetailSchema = jobViewSchema
  .extend({
    waitingReason: z.string().nullable().meta({ description: '`waiting.message` (kept for older clients); null unless QUEUED' }),
  })
  .meta({ id: 'JobDetail' });

export const jobPageSchema = z.strictObject({ jobs: z.array(jobViewSchema), nextCursor: z.string().nullable() }).meta({ id: 'JobPage' });

const eventBase = { jobId: z.string(), attempt: z.number().int(), seq: z.number().int(), ts: isoTime };
export const jobEventSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ ...eventBase, kind: z.literal('output'), stream: z.enum(['stdout', 'stderr']), data: z.string(), encoding: z.literal('base64').optional().meta({ description: 'set when `data` is base64 of bytes that are not UTF-8' }) }),
    z.strictObject({ ...eventBase, kind: z.literal('lifecycle'), name: z.string(), details: z.record(z.string(), z.unknown()) }),
  ])
  .meta({ id: 'JobEvent' });

export const eventPageSchema = z
  .strictObject({
    jobId: z.string(),
    attempt: z.number().int(),
    events: z.array(jobEventSchema),
    next: z.number().int().meta({ description: 'the `after` that continues this read' }),
    hasMore: z.boolean(),
  })
  .meta({ id: 'EventPage' });

export const gpuSchema = z.strictObject({
  index: z.number().int(),
  uuid: z.string(),
  name: z.string(),
  memoryTotalMiB: z.number(),
  memoryUsedMiB: z.number(),
  utilizationPercent: z.number().nullable(),
});

export const workerSchema = z
  .strictObject({
    workerId: z.string(),
    pool: z.string(),
    hostname: z.string(),
    pid: z.number().int(),
    concurrency: z.number().int(),
    gpus: z.array(gpuSchema),
    runningJobs: z.array(z.string()).meta({ description: "ids of the running jobs the caller may see (admins: all)" }),
    busySlots: z.number().int().meta({ description: 'slots in use, whoever runs in them' }),
    isolation: z
      .strictObject({ kind: z.enum(['none', 'sandbox', 'slot-user', 'container']), summary: z.string() })
      .optional()
      .meta({ description: "what keeps the worker's jobs from the platform and from each other" }),
    pricing: z
      .strictObject({ usdPerInstanceHour: z.number(), gpus: z.number().int(), vcpus: z.number().int() })
      .optional()
      .meta({ description: "the worker's instance: its price per hour and the GPUs and vCPUs its jobs' shares are taken of" }),
    startedAt: isoTime,
    lastSeenAt: isoTime,
    draining: z.boolean(),
  })
  .meta({ id: 'Worker' });

export const usageReportSchema = z
  .strictObject({
    by: z.enum(USAGE_GROUPINGS),
    from: isoTime.meta({ description: 'the window, [from, to): attempts count where they ended' }),
    to: isoTime,
    rows: z.array(
      z.strictObject({
        key: z.string().meta({ description: 'the group, the user (jobs’ owner), the queue or the UTC day (YYYY-MM-DD)' }),
        jobs: z.number().int(),
        attempts: z.number().int(),
        wallSeconds: z.number(),
        gpuSeconds: z.number(),
        cpuSeconds: z.number().meta({ description: 'over the attempts that measured it' }),
        costUsd: z.number(),
      }),
    ),
    idle: z
      .strictObject({ instanceSeconds: z.number(), costUsd: z.number() })
      .nullable()
      .meta({ description: 'instance time no job held, and its cost: in admins’ reports over every group and user; null otherwise' }),
  })
  .meta({ id: 'UsageReport' });

export const artifactSchema = z
  .strictObject({
    path: z.string().meta({ description: 'relative to the work directory, `/`-separated' }),
    size: z.number().int(),
    sha256: z.string().meta({ description: 'lowercase hex SHA-256 of the stored bytes' }),
    attempt: z.number().int(),
    createdAt: isoTime,
  })
  .meta({ id: 'Artifact' });

export const artifactPageSchema = z
  .strictObject({ artifacts: z.array(artifactSchema), nextCursor: z.string().nullable() })
  .meta({ id: 'ArtifactPage' });

export const artifactDownloadSchema = artifactSchema
  .extend({ url: z.string().meta({ description: 'a presigned GET, also in Location' }), expiresInSeconds: z.number().int() })
  .meta({ id: 'ArtifactDownload' });

const uploadInstructionsSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('put'), url: z.string(), headers: z.record(z.string(), z.string()) }),
  z.strictObject({
    kind: z.literal('multipart'),
    uploadId: z.string(),
    partBytes: z.number().int(),
    parts: z.array(z.strictObject({ partNumber: z.number().int(), url: z.string() })),
  }),
]);

export const createUploadResponseSchema = z
  .union([
    z.strictObject({ archive: z.string(), exists: z.literal(true) }),
    z.strictObject({ archive: z.string(), exists: z.literal(false), upload: uploadInstructionsSchema, expiresInSeconds: z.number().int() }),
  ])
  .meta({ id: 'UploadInstructions', description: 'exists: nothing to send; otherwise where to PUT the archive (one URL, or parts then POST /v1/uploads/complete)' });

export const completedUploadSchema = z.strictObject({ archive: z.string(), exists: z.literal(true) }).meta({ id: 'CompletedUpload' });

export const workerListSchema = z.strictObject({ workers: z.array(workerSchema) }).meta({ id: 'WorkerList' });

export const groupViewSchema = z
  .strictObject({
    name: z.string(),
    maxGpus: z.number().int().nullable().meta({ description: 'GPUs its RUNNING jobs may hold together; null: no quota' }),
    maxRunningJobs: z.number().int().nullable().meta({ description: 'jobs it may run at once; null: no quota' }),
    weight: z.number().meta({ description: 'fair-share weight: weight 3 is entitled to three times the share of weight 1' }),
    runningGpus: z.number().int(),
    runningJobs: z.number().int(),
    recentGpuSeconds: z.number().meta({ description: 'GPU-seconds of finished attempts, exponentially decayed (half-life 24 h by default)' }),
  })
  .meta({ id: 'Group' });
export const groupResponseSchema = z.strictObject({ group: groupViewSchema }).meta({ id: 'GroupResponse' });
export const groupListSchema = z.strictObject({ groups: z.array(groupViewSchema) }).meta({ id: 'GroupList' });

export const apiKeySummarySchema = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    role: z.enum(ROLES),
    groups: z.array(z.string()),
    createdBy: z.string(),
    createdAt: isoTime,
    expiresAt: isoTime.nullable(),
    revokedAt: isoTime.nullable(),
    revokedBy: z.string().nullable(),
  })
  .meta({ id: 'ApiKey' });

export const createdApiKeySchema = apiKeySummarySchema
  .extend({ key: z.string().meta({ description: '`rp_<id>_<secret>`: the only time the API returns it' }) })
  .meta({ id: 'CreatedApiKey' });

export const apiKeyPageSchema = z.strictObject({ keys: z.array(apiKeySummarySchema), nextCursor: z.string().nullable() }).meta({ id: 'ApiKeyPage' });

const chainId = z.union([z.literal('root'), z.number().int()]);

export const auditEntrySchema = z
  .strictObject({
    seq: z.number().int(),
    time: isoTime,
    actor: z.string(),
    action: z.string(),
    target: z.string(),
    details: z.record(z.string(), z.unknown()),
    prevHash: z.string(),
    hash: z.string(),
    shard: chainId,
  })
  .meta({ id: 'AuditEntry' });

export const auditPageSchema = z
  .strictObject({ entries: z.array(auditEntrySchema), next: z.string(), hasMore: z.boolean() })
  .meta({ id: 'AuditPage' });

const auditProblemSchema = z.strictObject({
  shard: chainId,
  seq: z.number().int(),
  kind: z.enum(['edited', 'reordered', 'deleted', 'inserted', 'broken-link', 'malformed', 'head-mismatch', 'checkpoint-mismatch']),
  problem: z.string(),
});

export const auditVerificationSchema = z
  .strictObject({
    ok: z.boolean(),
    entries: z.number().int(),
    checkpoints: z.number().int(),
    shards: z.number().int(),
    firstBroken: auditProblemSchema.optional(),
    problems: z.array(auditProblemSchema),
  })
  .meta({ id: 'AuditVerification' });

export const healthSchema = z.strictObject({ status: z.literal('ok') }).meta({ id: 'Health' });

/** Every error: `{"error":{"code","message","details"}}`. */
export const errorBodySchema = z
  .strictObject({
    error: z.strictObject({
      code: z.string().regex(/^[A-Z_]+$/),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).meta({ description: 'safe detail; `fields: [{path, message}]` for INVALID_ARGUMENT' }),
    }),
  })
  .meta({ id: 'Error' });

/** The OpenAPI document itself (`GET /v1/openapi.json`): checked only for its version here. */
export const openApiDocumentSchema = z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) }).meta({ id: 'OpenApiDocument' });

type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** The type a handler's JSON answer must have for `schema` (readonly, so the core's own types fit). */
export type ResponseBody<S extends z.ZodType> = DeepReadonly<z.output<S>>;

// Compile-time proof that what the handlers return fits the contract: tsc fails on this line when a
// core view and its schema drift apart (the integration tests then check the values themselves).
type Fits<T, S extends z.ZodType> = [T] extends [ResponseBody<S>] ? true : never;
export const CORE_VIEWS_FIT_THE_CONTRACT: readonly [
  Fits<JobView, typeof jobViewSchema>,
  Fits<JobView & { waitingReason: string | null }, typeof jobDetailSchema>,
  Fits<{ jobId: string; attempt: number } & EventPage, typeof eventPageSchema>,
  Fits<{ workers: WorkerView[] }, typeof workerListSchema>,
  Fits<ApiKeySummary, typeof apiKeySummarySchema>,
  Fits<CreatedApiKey, typeof createdApiKeySchema>,
  Fits<{ keys: ApiKeySummary[]; nextCursor: string | null }, typeof apiKeyPageSchema>,
  Fits<AuditPage, typeof auditPageSchema>,
  Fits<VerifyResult, typeof auditVerificationSchema>,
  Fits<ErrorBody, typeof errorBodySchema>,
  Fits<{ group: GroupView }, typeof groupResponseSchema>,
  Fits<{ groups: GroupView[] }, typeof groupListSchema>,
  Fits<UsageReport, typeof usageReportSchema>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true];
