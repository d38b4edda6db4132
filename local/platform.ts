import { projectRoot } from './project-root.ts';
import { existsSync, renameSync, writeSync } from 'node:fs';
import { logFunction } from '../core/observability/structured-logger.ts';
import { workerMetrics } from '../core/observability/metrics.ts';
import { PLATFORM_LOG_FILE, startPlatformTelemetry } from './platform-telemetry.ts';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { auditedKeyWrites, createApiDependencies } from '../core/app/api-dependencies.ts';
import { bootstrapAdminKey } from '../core/auth/bootstrap-admin-key.ts';
import { DynamoDbApiKeyStore } from '../core/auth/dynamodb-api-key-store.ts';
import {
  DEFAULT_DATA_DIR,
  fileSecretSlot,
  localAuthPaths,
  registerLocalPlatform,
  unregisterLocalPlatform,
  type LocalAuthState,
} from '../core/auth/local-files.ts';
import { loadOrCreateSigningKey, publicJwk } from '../core/auth/signing-key.ts';
import { DynamoDbAuditLog } from '../core/audit/dynamodb-audit-log.ts';
import { createDocumentClient } from '../core/aws/dynamodb-client.ts';
import { dynamoDbClientOptions } from '../core/aws/client-options.ts';
import { systemClock } from '../core/ids.ts';
import type { Job } from '../core/jobs/job.ts';
import type { JobStore } from '../core/jobs/store.ts';
import { recoverLostAttempt } from '../core/jobs/recovery.ts';
import { createJobQueue } from '../core/app/dispatch-dependencies.ts';
import { createWorkerDependencies } from '../core/app/worker-dependencies.ts';
import { createInProcessScheduler } from '../core/app/scheduler-dependencies.ts';
import type { InProcessScheduler } from '../core/scheduling/scheduler-kicker.ts';
import type { GroupStates } from '../core/scheduling/group-states.ts';
import { createMaintenanceDependencies } from '../core/app/maintenance-dependencies.ts';
import { deleteAbandonedInboxes, drainDeadLetters, sweep, type MaintenanceLogger, type SweepOptions } from '../core/maintenance/maintenance.ts';
import { createSqsClient } from '../core/aws/sqs-client.ts';
import { createS3Client } from '../core/aws/s3-client.ts';
import { logArchiveDependencies } from '../core/app/log-archive-dependencies.ts';
import type { RuntimeConfig } from '../core/config.ts';
import { DEFAULT_EVENT_RETENTION_DAYS, DEFAULT_QUEUES, JOBS_TABLE, EVENTS_TABLE, AUDIT_TABLE, tableName, type QueueDefinition } from '../core/resources.ts';
import { createWorkerRuntime } from '../core/app/worker-runtime.ts';
import { isolationNotice, type JobRuntime, type RuntimeIsolation } from '../core/runtime/job-runtime.ts';
import { Worker, type WorkerOptions } from '../core/worker/worker.ts';
import { describeGpus, detectGpus, type Gpu } from '../core/worker/gpus.ts';
import { loadWorkerPricing } from '../core/worker/worker-config.ts';
import type { InstancePricing } from '../core/usage/usage.ts';
import { createHandlers } from '../lambdas/handlers.ts';
import { ROUTES } from '../lambdas/routes.ts';
import { ensureBucket, ensureQueues, ensureTables, localArtifactsBucket } from './bootstrap.ts';
import { createJobFilesParts } from '../core/app/job-files-dependencies.ts';
import { startDynamoDbLocal, type RunningDynamoDbLocal } from './dynamodb-local.ts';
import { lowerAutogroupPriority, yieldCpuToJobs, type AutogroupPriority } from '../core/runtime/autogroup-priority.ts';
import { startLocalSqs, type LocalSqsServer } from './fauxqs-server.ts';
import { endOrphanedJobProcesses } from './orphaned-jobs.ts';
import { loadOrCreateLocalSecrets, localSecretPaths, withoutSecrets } from './local-secrets.ts';
import { startLocalApiServer, type LocalApiServer } from './http-server.ts';
import { createConsoleSite, type ConsoleConfigFile } from './console-site.ts';
import { LOCAL_STATE_FILE, readLocalState, type LocalState } from './local-state.ts';

export interface LocalPlatformOptions {
  readonly host?: string;
  readonly port?: number;
  /** Workers started in this process for each queue. */
  readonly workers?: number;
  /** Queues that get local workers; all when omitted. */
  readonly workerPools?: readonly string[];
  readonly workerConcurrency?: number;
  readonly inMemory?: boolean;
  readonly dataDir?: string;
  readonly queues?: readonly QueueDefinition[];
  readonly prefix?: string;
  /** Where console lines go (stdout by default); every record also goes to `<dataDir>/platform.log`. */
  readonly log?: (line: string) => void;
  /** Per-request lines on the console too. */
  readonly verbose?: boolean;
  readonly maintenanceIntervalSeconds?: number;
  /** How often the audit chain is checkpointed (a scheduled Lambda in AWS); 60 s by default. */
  readonly auditCheckpointSeconds?: number;
  readonly sweepOptions?: SweepOptions;
  /** How long an inbox no live worker names is kept (INBOX_ABANDONED_AFTER_MS, 5 min); tests shorten it. */
  readonly inboxAbandonedAfterMs?: number;
  /** Validity of artifact download URLs (tests shorten it). */
  readonly artifactUrlSeconds?: number;
  /** Worker tuning, for tests and benchmarks. */
  readonly workerOptions?: Pick<
    WorkerOptions,
    'heartbeatSeconds' | 'leaseSeconds' | 'killGraceSeconds' | 'flushIntervalMs' | 'pollWaitSeconds' | 'onProcessStarted'
  >;
  /** How jobs run; by default the strongest sandbox this machine offers, hiding the data directory. */
  readonly runtime?: JobRuntime;
  /** The scheduler's safety-net pass interval (passes also run on every submit and every end). */
  readonly schedulerIntervalSeconds?: number;
  /** Fair-share weights, quotas and recent use of groups; every group at its defaults otherwise. */
  readonly groupStates?: GroupStates;
  /** How long a stop waits for running jobs before handing them back (see DRAIN_SECONDS). */
  readonly drainSeconds?: number;
  /** An OIDC issuer the web console offers ("Sign in with <name>"); the API must accept its tokens. */
  readonly consoleOidc?: ConsoleConfigFile['oidc'];
  /**
   * What the local workers' machine costs, for usage costs: by default RUNPLANE_PRICE_PER_INSTANCE_HOUR
   * (USD per hour; 0 when unset), the GPUs found and this machine's CPUs.
   */
  readonly pricing?: Partial<InstancePricing>;
  /**
   * Lower the CPU priority of this process and of DynamoDB Local below the jobs'
   * (core/runtime/autogroup-priority.ts), for a machine that runs nothing but the platform and its
   * jobs (the outputCost benchmark). Off by default, `npm start` included: on a machine shared with
   * other work the platform would get a tenth of its share and its own work (a stop's hand-back,
   * the API) could take too long (specs/05-output-batching.md, decision 19).
   */
  readonly yieldCpuToJobs?: boolean;
}

/**
 * A stop (Ctrl-C) waits this long in all for running jobs to end (the workers' poll in flight
 * included), then hands the rest back: SIGTERM, their output kept, QUEUED again for the next start.
 */
export const DRAIN_SECONDS = 5;
const POLL_WAIT_SECONDS = 2;

export interface LocalPlatform {
  readonly url: string;
  readonly config: RuntimeConfig;
  readonly stateFile: string;
  /** The first admin API key (also in `<dataDir>/auth/admin-key`): what benches and tests send. */
  readonly adminKey: string;
  readonly dataDir: string;
  readonly workers: readonly Worker[];
  /** What keeps the local workers' jobs from the platform and from each other. */
  readonly isolation: RuntimeIsolation;
  /** The GPUs the local workers found (nvidia-smi on PATH); none without workers. */
  readonly gpus: readonly Gpu[];
  /** With `yieldCpuToJobs`: the nice value of each autogroup after lowering it, or why it could not be. */
  readonly cpuPriority?: { readonly platform: AutogroupPriority; readonly dynamoDbLocal: AutogroupPriority };
  /** Hands running jobs back, then stops the API, the queues and DynamoDB Local, in that order. */
  stop(): Promise<void>;
  /**
   * Stops at once, synchronously, for a second Ctrl-C: every job process group and DynamoDB Local
   * are killed. Nothing is written; the next start recovers the attempts as lost and retries them.
   */
  abort(): void;
}

const LOCAL_PREFIX = 'runplane';
export const DEFAULT_PORT = 8787;
/** The built web console (`npm run build:console`, run by `npm ci`). */
const consoleDist = () => join(projectRoot(), 'console', 'dist');

/**
 * The embedded platform: DynamoDB Local (data under `<dataDir>/dynamodb` unless in memory), fauxqs
 * in this process, the Lambda handlers over HTTP, and workers running jobs as local processes.
 */
export async function startLocalPlatform(options: LocalPlatformOptions = {}): Promise<LocalPlatform> {
  const dataDir = resolve(options.dataDir ?? '.runplane');
  const prefix = options.prefix ?? LOCAL_PREFIX;
  const queueDefinitions = options.queues ?? DEFAULT_QUEUES;
  await mkdir(dataDir, { recursive: true });
  const telemetry = startPlatformTelemetry({ dataDir, verbose: options.verbose ?? false, console: options.log ?? ((line) => console.log(line)) });
  const log = (line: string) => telemetry.logger.info(line, { event: 'platform' });
  // Two platforms on one data directory would share DynamoDB Local's files: refuse the second.
  const running = await readLocalState(dataDir).catch(() => undefined);
  if (running) {
    throw new Error(`Runplane is already running from ${dataDir} (pid ${running.pid}) at ${running.api}`);
  }

  let dynamo: RunningDynamoDbLocal | undefined;
  let cpuPriority: LocalPlatform['cpuPriority'];
  let fauxqs: LocalSqsServer | undefined;
  let api: LocalApiServer | undefined;
  const workers: Worker[] = [];
  let maintenance: NodeJS.Timeout | undefined;
  let scheduler: InProcessScheduler | undefined;
  let schedulerTimer: NodeJS.Timeout | undefined;
  let maintenanceRun: Promise<void> = Promise.resolve();
  let checkpoints: NodeJS.Timeout | undefined;
  let checkpointRun: Promise<void> = Promise.resolve();
  let pointer: string | undefined;
  // Job process groups started here (each job is its own group leader): what abort() kills.
  const jobGroups = new Set<number>();
  const drainSeconds = options.drainSeconds ?? DRAIN_SECONDS;
  const pollWaitSeconds = options.workerOptions?.pollWaitSeconds ?? POLL_WAIT_SECONDS;
  const abort = () => {
    for (const pgid of jobGroups) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // that job has ended
      }
    }
    if (dynamo?.process.pid !== undefined) {
      try {
        process.kill(-dynamo.process.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const stop = async () => {
    clearInterval(schedulerTimer);
    await scheduler?.stop();
    clearInterval(maintenance);
    clearInterval(checkpoints);
    await maintenanceRun;
    await checkpointRun;
    // The poll in flight is part of the window: a worker's stop waits for it before draining.
    await Promise.allSettled(workers.map((w) => w.stop({ drainSeconds: Math.max(0, drainSeconds - pollWaitSeconds) })));
    await api?.close();
    await fauxqs?.stop();
    await dynamo?.stop();
    await rm(join(dataDir, LOCAL_STATE_FILE), { force: true });
    await unregisterLocalPlatform(pointer);
    telemetry.close();
  };

  try {
    const region = 'us-east-1';
    const secrets = await loadOrCreateLocalSecrets(dataDir);
    const dbPath = join(dataDir, 'dynamodb');
    if (!options.inMemory) adoptSharedDatabase(dbPath, secrets.emulatorCredentials.accessKeyId, region);
    dynamo = await startDynamoDbLocal(options.inMemory ? {} : { dbPath });
    if (dynamo.exposure) {
      log(`WARNING: ${dynamo.exposure}. Other users and hosts that reach this machine can connect to it; only its per-data-directory access key (${localSecretPaths(dataDir).dynamodbAccessKey}) keeps them out of Runplane's data.`);
    }
    if (options.yieldCpuToJobs) {
      // DynamoDB Local stands in for a service that is not on the job's machine in AWS: it must
      // not take the job's CPU either. It leads a session of its own (detached); this process
      // lowers its own autogroup only when it does too (see leadsOwnSession).
      const emulator = dynamo.process.pid === undefined ? undefined : await lowerAutogroupPriority(dynamo.process.pid);
      const own = await yieldCpuToJobs();
      cpuPriority = { platform: own, dynamoDbLocal: emulator ?? { unavailable: 'no pid' } };
    }
    fauxqs = await startLocalSqs();
    const sqs = createSqsClient({ endpoint: fauxqs.address, region });
    const dynamoClient = new DynamoDBClient({ region, endpoint: dynamo.endpoint, credentials: secrets.emulatorCredentials });
    await ensureTables(dynamoClient, prefix);
    const queues = await ensureQueues(sqs, prefix, queueDefinitions);
    // fauxqs serves S3 on the SQS port; it keeps objects in memory, like its messages.
    const artifactsBucket = localArtifactsBucket(prefix);
    await ensureBucket(createS3Client({ endpoint: fauxqs.address, region }), artifactsBucket);
    // First start: a signing key and an admin key under <dataDir>/auth (0600). Every start: the
    // admin key's item exists in the table (an in-memory or wiped database loses it).
    const authPaths = localAuthPaths(dataDir);
    const signingKey = await loadOrCreateSigningKey(authPaths.signingKey);
    const documentClient = createDocumentClient(
      dynamoDbClientOptions({ region, endpoints: { dynamodb: dynamo.endpoint }, emulatorCredentials: secrets.emulatorCredentials }),
    );
    await bootstrapAdminKey({
      store: new DynamoDbApiKeyStore({ client: documentClient, tableName: tableName(prefix, JOBS_TABLE) }),
      secret: fileSecretSlot(authPaths.adminKey),
      audited: auditedKeyWrites(new DynamoDbAuditLog({ client: documentClient, tableName: tableName(prefix, AUDIT_TABLE) })),
    });
    const adminKey = (await fileSecretSlot(authPaths.adminKey).read())!;
    const config: RuntimeConfig = {
      tables: {
        jobs: tableName(prefix, JOBS_TABLE),
        events: tableName(prefix, EVENTS_TABLE),
        audit: tableName(prefix, AUDIT_TABLE),
      },
      queues: queues.map((q) => {
        const definition = queueDefinitions.find((d) => d.pool === q.pool)!;
        return {
          pool: q.pool,
          url: q.url,
          deadLetterUrl: q.deadLetterUrl,
          visibilityTimeoutSeconds: definition.visibilityTimeoutSeconds,
          maxReceiveCount: definition.maxReceiveCount,
          defaultMaxAttempts: definition.defaultMaxAttempts,
        };
      }),
      endpoints: { dynamodb: dynamo.endpoint, sqs: fauxqs.address, s3: fauxqs.address },
      artifactsBucket,
      ...secrets,
      eventRetentionDays: DEFAULT_EVENT_RETENTION_DAYS,
      region,
      auth: {
        jwt: { issuer: signingKey.issuer, audience: signingKey.audience, publicKeys: [publicJwk(signingKey)] },
        claims: { groups: 'groups', role: 'role' },
      },
    };

    // One scheduler for every pool, in this process: the API's submits and the workers' ends kick
    // it, and a periodic kick is the safety net (specs/11-scheduling.md).
    scheduler = createInProcessScheduler(config, {
      ...(options.groupStates ? { groups: options.groupStates } : {}),
      log: (level, message, fields) => telemetry.log(level, message, { component: 'scheduler', ...fields }),
    });
    const apiDependencies = createApiDependencies(config, {
      queue: createJobQueue(config),
      admission: scheduler,
      jobFiles: createJobFilesParts,
      ...logArchiveDependencies(config),
      ...(options.artifactUrlSeconds !== undefined ? { artifactUrlSeconds: options.artifactUrlSeconds } : {}),
    });
    // Dependents a worker releases and attempts it requeues are admitted by the same scheduler.
    const workerDeps = createWorkerDependencies(config, { admission: scheduler });
    // Attempts this data directory's own workers were running when the previous run died without
    // handing them back (a second Ctrl-C, kill -9): no one holds them, so end them now as lost
    // (retried per their policy) instead of waiting out their leases.
    const recovered = await recoverOwnLostAttempts(config, workerDeps.store);
    if (recovered > 0) log(`recovered ${recovered} running job(s) the previous run did not hand back`);
    // fauxqs keeps messages in memory: every job still QUEUED in DynamoDB gets its message again.
    const requeued = await requeueWaitingJobs(config, workerDeps.store);
    if (requeued > 0) log(`put ${requeued} admitted job(s) of the previous run back on the pending list`);
    for (const queue of config.queues) scheduler.kick(queue.pool);
    schedulerTimer = setInterval(() => {
      for (const queue of config.queues) scheduler?.kick(queue.pool);
    }, (options.schedulerIntervalSeconds ?? 2) * 1000);
    schedulerTimer.unref();

    api = await startLocalApiServer({
      routes: ROUTES,
      handlers: createHandlers(async () => apiDependencies),
      host: options.host ?? '127.0.0.1',
      port: options.port ?? DEFAULT_PORT,
      cors: { allowOrigins: ['*'] },
      // The handlers log each request themselves; the gateway's own lines are its failures.
      log: (line) => (ACCESS_LOG_LINE.test(line) ? undefined : telemetry.log('error', line, { component: 'gateway' })),
      console: createConsoleSite({ dir: consoleDist(), config: { adminKeyFile: authPaths.adminKey, ...(options.consoleOidc ? { oidc: options.consoleOidc } : {}) } }),
    });

    // The safety nets run here every few seconds; in AWS they are scheduled Lambdas.
    const maintenanceDeps = {
      ...createMaintenanceDependencies(config, { admission: scheduler }),
      log: ((level, message, fields) => telemetry.log(level, message, { component: 'maintenance', ...fields })) satisfies MaintenanceLogger,
    };
    const pools = config.queues.map((q) => q.pool);
    const sweepOptions = options.sweepOptions ?? { dispatchGraceSeconds: 10, leaseGraceSeconds: 30 };
    maintenance = setInterval(() => {
      maintenanceRun = (async () => {
        await sweep(maintenanceDeps, pools, sweepOptions);
        for (const pool of pools) await drainDeadLetters(maintenanceDeps, maintenanceDeps.deadLetters, pool);
        // Inboxes of workers killed outright (their jobs are the admission sweeper's, above).
        await deleteAbandonedInboxes(maintenanceDeps, pools, options.inboxAbandonedAfterMs);
      })().catch((err: unknown) => log(`maintenance failed: ${String(err)}`));
    }, (options.maintenanceIntervalSeconds ?? 5) * 1000);
    // Records every audit shard's head in the root chain, so deleting a shard's newest entries is
    // detected by `audit verify`; writes nothing while no shard moves.
    const auditCheckpoints = new DynamoDbAuditLog({ client: documentClient, tableName: config.tables.audit });
    checkpoints = setInterval(() => {
      checkpointRun = auditCheckpoints
        .checkpoint()
        .then(() => undefined)
        .catch((err: unknown) => log(`audit checkpoint failed: ${String(err)}`));
    }, (options.auditCheckpointSeconds ?? 60) * 1000);

    const runtime = options.runtime ?? (await createWorkerRuntime({ hiddenPaths: [dataDir] }));
    if (options.workers !== 0) log(isolationNotice(runtime.isolation));
    const gpus = options.workers === 0 ? [] : await detectGpus(undefined, { warn: log });
    const pricing = options.pricing ?? loadWorkerPricing();
    for (const queue of config.queues) {
      if (options.workerPools && !options.workerPools.includes(queue.pool)) continue;
      for (let i = 0; i < (options.workers ?? 1); i++) {
        const worker = new Worker({
          ...workerDeps,
          pool: queue.pool,
          workerId: `local-${queue.pool}-${i + 1}`,
          gpus,
          pricing,
          concurrency: options.workerConcurrency ?? 4,
          leaseSeconds: queue.visibilityTimeoutSeconds,
          // Short polls keep Ctrl-C quick; a long poll returns as soon as a message arrives anyway.
          pollWaitSeconds: POLL_WAIT_SECONDS,
          runtime,
          ...options.workerOptions,
          onProcessStarted: (job, at, pid) => {
            if (pid !== undefined) jobGroups.add(pid);
            options.workerOptions?.onProcessStarted?.(job, at, pid);
          },
          log: logFunction(telemetry.logger.createChild({ persistentKeys: { workerId: `local-${queue.pool}-${i + 1}` } })),
          scheduler,
          metrics: workerMetrics(telemetry.metrics),
        });
        worker.start();
        workers.push(worker);
      }
    }

    // Paths only: the CLI reads the key from its 0600 file, so local.json holds no secret.
    const secretPaths = localSecretPaths(dataDir);
    const auth: LocalAuthState & { dynamodbAccessKeyFile: string; dispatchKeyFile: string } = {
      adminKeyFile: authPaths.adminKey,
      signingKeyFile: authPaths.signingKey,
      dynamodbAccessKeyFile: secretPaths.dynamodbAccessKey,
      dispatchKeyFile: secretPaths.dispatchKey,
    };
    const state: LocalState & { auth: typeof auth } = {
      api: api.url,
      pid: process.pid,
      startedAt: new Date().toISOString(),
      config: withoutSecrets(config),
      auth,
    };
    const stateFile = join(dataDir, LOCAL_STATE_FILE);
    await writeFile(stateFile, JSON.stringify(state, null, 2), { mode: 0o600 });
    // Lets the CLI find this platform's key from any directory (see core/auth/local-files.ts).
    pointer = await registerLocalPlatform(api.url, dataDir).catch((err: unknown) => {
      log(`could not register the platform for CLI discovery: ${String(err)}`);
      return undefined;
    });
    return { url: api.url, config, stateFile, adminKey, dataDir, workers, isolation: runtime.isolation, gpus, ...(cpuPriority ? { cpuPriority } : {}), stop, abort };
  } catch (err) {
    await stop().catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`port ${options.port ?? DEFAULT_PORT} is already in use: pick another with --port`, { cause: err });
    }
    throw err;
  }
}

/**
 * A data directory made before DynamoDB Local ran without -sharedDb keeps its tables in
 * `shared-local-instance.db`; it becomes the database of this directory's access key, so nothing
 * is lost on upgrade.
 */
function adoptSharedDatabase(dbPath: string, accessKeyId: string, region: string) {
  const shared = join(dbPath, 'shared-local-instance.db');
  const own = join(dbPath, `${accessKeyId}_${region}.db`);
  if (existsSync(shared) && !existsSync(own)) renameSync(shared, own);
}

/** The local platform's workers are `local-<pool>-<n>`; `runplane worker` processes have ids of their own. */
function isOwnWorker(workerId: string, pool: string): boolean {
  const prefix = `local-${pool}-`;
  return workerId.startsWith(prefix) && /^\d+$/.test(workerId.slice(prefix.length));
}

async function recoverOwnLostAttempts(config: RuntimeConfig, store: JobStore): Promise<number> {
  const lost: Job[] = [];
  for (const queue of config.queues) {
    let cursor: string | undefined;
    do {
      const page = await store.listRunningJobs(queue.pool, 100, cursor);
      lost.push(...page.items.filter((job) => job.lease && isOwnWorker(job.lease.workerId, queue.pool)));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }
  // A killed platform left their processes running: end them before the jobs run again.
  endOrphanedJobProcesses(new Set(lost.map((job) => job.id)));
  let count = 0;
  for (const job of lost) {
    await recoverLostAttempt(store, job, systemClock, 'system:recovery', {
      holderStopped: 'the local platform running it was stopped before it could hand the job back',
    }).then(
      () => count++,
      () => undefined, // changed meanwhile: whoever changed it owns it
    );
  }
  return count;
}

/** The gateway's access-log line (`GET /v1/jobs 200 3ms`). */
const ACCESS_LOG_LINE = /^[A-Z]+ \S* \d{3} \d+ms$/;

/**
 * fauxqs keeps messages in memory: the jobs the previous run admitted lost theirs. They go back
 * on the pending list, and the first pass admits what fits.
 */
async function requeueWaitingJobs(config: RuntimeConfig, store: JobStore): Promise<number> {
  let count = 0;
  for (const queue of config.queues) {
    let cursor: string | undefined;
    do {
      const page = await store.listAdmittedJobs(queue.pool, 100, cursor);
      for (const job of page.items) if (job.state === 'QUEUED' && (await store.unadmitJob(job))) count++;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }
  return count;
}

export interface DevOptions {
  readonly port?: number;
  readonly workers?: number;
  readonly inMemory?: boolean;
  readonly dataDir?: string;
  readonly verbose?: boolean;
}

/**
 * A signal this soon after the first is the same Ctrl-C: `npm start` forwards the terminal's
 * SIGINT to the platform, which the terminal already signalled as a member of its process group.
 */
const SAME_CTRL_C_MS = 1_000;
/** Past this the stop is stuck (a job ignoring SIGTERM outlives the kill grace): stop at once. */
const STOP_DEADLINE_SECONDS = DRAIN_SECONDS + 20;

/**
 * `runplane dev` / `npm start`: runs until Ctrl-C. The first Ctrl-C hands running jobs back and
 * stops everything, DynamoDB Local last; a second one stops at once (the next start recovers and
 * retries what was running). The emulators and the jobs run in process groups of their own, so
 * the terminal's Ctrl-C reaches only this process.
 */
export async function runDev(options: DevOptions = {}): Promise<void> {
  const platform = await startLocalPlatform({
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    ...(options.inMemory !== undefined ? { inMemory: options.inMemory } : {}),
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    ...(options.verbose !== undefined ? { verbose: options.verbose } : {}),
  });
  // The CLI finds the platform of `./.runplane` by itself (local.json); the URL is printed anyway
  // when it is not the default one, so that the line works as shown from any directory.
  const asDefault = platform.dataDir === resolve(DEFAULT_DATA_DIR) && new URL(platform.url).port === String(DEFAULT_PORT);
  const cliPrefix = asDefault ? '' : `RUNPLANE_URL=${platform.url} `;
  const code = await new Promise<number>((resolveStop) => {
    let firstAt: number | undefined;
    const stopNow = (why: string) => {
      platform.abort();
      // Synchronous: output written just before process.exit() to a pipe is otherwise lost.
      writeSync(1, `${why}: stopped at once; jobs that were running are retried on the next start.\n`);
      process.exit(130);
    };
    const onSignal = () => {
      if (firstAt !== undefined) {
        if (Date.now() - firstAt >= SAME_CTRL_C_MS) stopNow('Second Ctrl-C');
        return;
      }
      firstAt = Date.now();
      console.log(`\nStopping Runplane: running jobs get ${DRAIN_SECONDS} s, then go back to the queue (Ctrl-C again to stop at once)...`);
      setTimeout(() => stopNow(`Still stopping after ${STOP_DEADLINE_SECONDS} s`), STOP_DEADLINE_SECONDS * 1000).unref();
      platform.stop().then(
        () => resolveStop(0),
        (err: unknown) => {
          console.error(err);
          resolveStop(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // Printed only now: whoever reads "Press Ctrl-C" may signal at once, and a signal that arrives
    // before the handlers above are installed kills the process outright (no hand-back).
    console.log(`Runplane is running at ${platform.url}`);
    console.log(`  queues:   ${platform.config.queues.map((q) => q.pool).join(', ')}`);
    console.log(`  workers:  ${platform.workers.length} (local processes)`);
    if (platform.workers.length > 0) console.log(`  GPUs:     ${describeGpus(platform.gpus)}`);
    console.log(`  data:     ${options.inMemory ? 'in memory (nothing kept)' : platform.dataDir}`);
    console.log(`  admin key: ${localAuthPaths(platform.dataDir).adminKey} (the CLI on this machine uses it)`);
    console.log(`  log:      ${join(platform.dataDir, PLATFORM_LOG_FILE)} (JSON lines${options.verbose ? '' : '; --verbose shows each request here'})`);
    console.log(`Try: ${cliPrefix}npx runplane submit --wait -- node -e "console.log('hi')"`);
    console.log('Press Ctrl-C to stop.');
  });
  writeSync(1, 'Runplane stopped.\n');
  // Idle SDK sockets and the like must not keep a stopped platform alive.
  process.exit(code);
}
