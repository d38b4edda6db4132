import { ApiKeyService, type AuditedWrite } from '../auth/api-key-service.ts';
import { ExtraActionConflictError } from '../auth/errors.ts';
import { AuditService } from '../audit/audit-service.ts';
import { DynamoDbAuditLog } from '../audit/dynamodb-audit-log.ts';
import { createAuthenticator } from '../auth/authenticator.ts';
import { DynamoDbApiKeyStore } from '../auth/dynamodb-api-key-store.ts';
import { createJwtVerifier, type JwtVerifier } from '../auth/jwt-verifier.ts';
import { loadRuntimeConfig, type AuthConfig, type RuntimeConfig } from '../config.ts';
import { DynamoDbEventStore } from '../events/dynamodb-event-store.ts';
import type { LogArchiveStore } from '../events/log-archive.ts';
import type { Authenticator, Logger } from '../http/api-handler.ts';
import { jsonLogger } from '../http/api-handler.ts';
import { observability, recordAuditAppend } from '../observability/observability.ts';
import { DynamoDbJobStore } from '../jobs/dynamodb-store.ts';
import { JobService } from '../jobs/job-service.ts';
import type { Job } from '../jobs/job.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import type { JobAdmission } from '../jobs/job-admission.ts';
import { DynamoDbWaitingBoards } from '../jobs/dynamodb-waiting-boards.ts';
import { DynamoDbWorkerRegistry } from '../workers/dynamodb-registry.ts';
import { DynamoDbPoolScalingBoard } from '../scaling/dynamodb-pool-scaling.ts';
import type { Clock } from '../ids.ts';
import { ArtifactService } from '../artifacts/artifact-service.ts';
import { UploadService } from '../uploads/upload-service.ts';
import { UsageService } from '../usage/usage-service.ts';
import { DynamoDbUsageStore } from '../usage/dynamodb-usage-store.ts';
import type { JobFilesFactory } from './job-files-dependencies.ts';
import type { JWK } from 'jose';
import { createDynamoDbClient, type ClientsOptions } from './clients.ts';
import { createGroupParts } from './group-dependencies.ts';
import { GroupService } from '../groups/group-service.ts';

/** Everything an API handler needs, built once per Lambda container or per local platform. */
export interface ApiDependencies {
  readonly config: RuntimeConfig;
  readonly jobs: JobService;
  readonly apiKeys: ApiKeyService;
  readonly authenticate: Authenticator;
  /** GET /v1/audit and /v1/audit/verify, over the same audit log the writers append to. */
  readonly audit: AuditService;
  /** /v1/groups: quotas, weights and current use. */
  readonly groups: GroupService;
  /** GET /v1/usage: usage and cost by group, user, queue or day. */
  readonly usage: UsageService;
  /** Present when the deployment stores files (an artifacts bucket) and the route was given them. */
  readonly uploads?: UploadService;
  readonly artifacts?: ArtifactService;
}

/**
 * Only the routes that send messages (submit, retry) are given a queue: this module imports no SQS
 * client, so read-only handlers' bundles carry none.
 */
export interface ApiDependencyOptions extends ClientsOptions {
  readonly clock?: Clock;
  /** Where refused authentications are logged (reason, route, request id; never the token). */
  readonly log?: Logger;
  readonly queue?: JobQueue;
  /** What dispatch does with a runnable job: kick the scheduler (direct dispatch when absent). */
  readonly admission?: JobAdmission;
  /** How long a container reuses an API key's record (default 10 s; 0 reads it every request). */
  readonly apiKeyCacheSeconds?: number;
  /**
   * Only the routes that touch S3 (uploads, submit, artifacts) are given its factory, so the other
   * handlers' bundles carry no S3 client.
   */
  readonly jobFiles?: JobFilesFactory;
  /** Validity of artifact download URLs (default and maximum 15 minutes; tests shorten it). */
  readonly artifactUrlSeconds?: number;
  /** Where archived attempts are read (routes that read output; see log-archive-dependencies.ts). */
  readonly logArchive?: LogArchiveStore;
}

export function createApiDependencies(config: RuntimeConfig, options: ApiDependencyOptions = {}): ApiDependencies {
  const documentClient = createDynamoDbClient(config, options);
  const clock = options.clock ? { clock: options.clock } : {};
  const files = options.jobFiles?.(config, documentClient);
  // One audit log per process for every writer, so appends to a shard queue up here instead of
  // racing each other's head condition.
  const audit = new DynamoDbAuditLog({
    client: documentClient,
    tableName: config.tables.audit,
    ...clock,
    onAppendCommitted: (ms) => recordAuditAppend(observability(), ms),
  });
  const { groups, quotas } = createGroupParts(config, documentClient, audit);
  const log = (message: string, fields?: Record<string, unknown>) => jsonLogger('warn', message, fields);
  const jobs: JobService = new JobService({
    store: new DynamoDbJobStore({
      client: documentClient,
      tableName: config.tables.jobs,
      audit,
      counters: [quotas],
      // Routes that can end a job (cancel) release the jobs waiting for it: they are given a queue.
      ...(options.queue ? { dispatch: (job: Job) => jobs.dispatch(job), log } : {}),
    }),
    events: new DynamoDbEventStore({ client: documentClient, tableName: config.tables.events }),
    ...(options.queue ? { queue: options.queue } : {}),
    ...(options.admission ? { admission: options.admission } : {}),
    waitingBoards: new DynamoDbWaitingBoards({ client: documentClient, tableName: config.tables.jobs }),
    poolScaling: new DynamoDbPoolScalingBoard({ client: documentClient, tableName: config.tables.jobs }),
    groupQuotas: groups,
    queues: config.queues,
    registry: new DynamoDbWorkerRegistry({ client: documentClient, tableName: config.tables.jobs }),
    ...(files ? { workdirArchives: files.archives } : {}),
    ...(config.dispatchKey ? { dispatchKey: config.dispatchKey } : {}),
    ...(options.logArchive ? { logArchive: options.logArchive } : {}),
    ...clock,
    log,
  });
  const uploads = files ? new UploadService({ archives: files.archives, limits: files.limits }) : undefined;
  const artifacts = files
    ? new ArtifactService({
        jobs,
        store: files.artifactRecords,
        objects: files.artifactObjects,
        ...(options.artifactUrlSeconds !== undefined ? { urlExpirySeconds: options.artifactUrlSeconds } : {}),
      })
    : undefined;
  // API keys live in the jobs table (`pk = APIKEY#<id>`), so key checks need no table of their own.
  const apiKeys = new ApiKeyService({
    store: new DynamoDbApiKeyStore({ client: documentClient, tableName: config.tables.jobs }),
    audited: auditedKeyWrites(audit),
    // A key's record is reused for 10 s per container: one read saved per request, and a
    // revocation made elsewhere applies within 10 s (specs/08-auth.md).
    recordCacheSeconds: options.apiKeyCacheSeconds ?? 10,
    ...clock,
  });
  const jwt = jwtVerifierFor(config.auth, options.clock);
  const authenticate = createAuthenticator({ apiKeys, ...(jwt ? { jwt } : {}), log: options.log ?? jsonLogger });
  const usage = new UsageService({ store: new DynamoDbUsageStore({ client: documentClient, tableName: config.tables.jobs }), ...clock });
  return {
    config,
    jobs,
    apiKeys,
    authenticate,
    audit: new AuditService(audit),
    groups: new GroupService({ store: groups, ...clock }),
    usage,
    ...(uploads ? { uploads } : {}),
    ...(artifacts ? { artifacts } : {}),
  };
}

/** Key creation and revocation commit with their audit entry (see core/auth/api-key-service.ts). */
export function auditedKeyWrites(audit: DynamoDbAuditLog): AuditedWrite {
  return (record, write) => audit.runWithEntry(record, (actions) => write(actions), (err) => err instanceof ExtraActionConflictError);
}

/** Undefined when the deployment accepts no JWT at all (no own public keys, no OIDC issuer). */
function jwtVerifierFor(auth: AuthConfig | undefined, clock: Clock | undefined): JwtVerifier | undefined {
  if (!auth || (auth.jwt.publicKeys.length === 0 && !auth.oidc)) return undefined;
  return createJwtVerifier({
    own: { issuer: auth.jwt.issuer, audience: auth.jwt.audience, publicKeys: auth.jwt.publicKeys as JWK[] },
    ...(auth.oidc ? { oidc: { ...auth.oidc, groupsClaim: auth.claims.groups, roleClaim: auth.claims.role } } : {}),
    ...(clock ? { clock } : {}),
    ...(auth.maxTokenLifetimeSeconds !== undefined ? { maxLifetimeSeconds: auth.maxTokenLifetimeSeconds } : {}),
  });
}

let fromEnvironment: Promise<ApiDependencies> | undefined;

/**
 * Lambda's default: configuration from the environment, built on the first request and reused.
 * `extras` adds what only some routes need (a queue), built from the same config.
 */
export function apiDependenciesFromEnvironment(
  extras: (config: RuntimeConfig) => Omit<ApiDependencyOptions, 'clock'> = () => ({}),
): Promise<ApiDependencies> {
  fromEnvironment ??= Promise.resolve().then(() => {
    const config = loadRuntimeConfig();
    return createApiDependencies(config, extras(config));
  });
  return fromEnvironment;
}
