import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import { auditedKeyWrites, createApiDependencies } from '../core/app/api-dependencies.ts';
import { bootstrapAdminKey } from '../core/auth/bootstrap-admin-key.ts';
import { DynamoDbApiKeyStore } from '../core/auth/dynamodb-api-key-store.ts';
import {
  fileSecretSlot,
  localAuthPaths,
  registerLocalPlatform,
  unregisterLocalPlatform,
  type LocalAuthState,
} from '../core/auth/local-files.ts';
import { loadOrCreateSigningKey, publicJwk } from '../core/auth/signing-key.ts';
import { DynamoDbAuditLog } from '../core/audit/dynamodb-audit-log.ts';
import { createDocumentClient } from '../core/aws/dynamodb-client.ts';
import { createJobQueue } from '../core/app/dispatch-dependencies.ts';
import { createWorkerDependencies } from '../core/app/worker-dependencies.ts';
import { createMaintenanceDependencies } from '../core/app/maintenance-dependencies.ts';
import { drainDeadLetters, sweep, type MaintenanceLogger, type SweepOptions } from '../core/maintenance/maintenance.ts';
import { createSqsClient } from '../core/aws/sqs-client.ts';
import type { RuntimeConfig } from '../core/config.ts';
import { DEFAULT_QUEUES, JOBS_TABLE, EVENTS_TABLE, AUDIT_TABLE, tableName, type QueueDefinition } from '../core/resources.ts';
import { Worker, type WorkerOptions } from '../core/worker/worker.ts';
import { detectGpus } from '../core/worker/gpus.ts';
import { createHandlers } from '../lambdas/handlers.ts';
import { ROUTES } from '../lambdas/routes.ts';
import { ensureQueues, ensureTables } from './bootstrap.ts';
import { startDynamoDbLocal, type RunningDynamoDbLocal } from './dynamodb-local.ts';
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
  readonly log?: (line: string) => void;
  readonly maintenanceIntervalSeconds?: number;
  /** How often the audit chain is checkpointed (a scheduled Lambda in AWS); 60 s by default. */
  readonly auditCheckpointSeconds?: number;
  readonly sweepOptions?: SweepOptions;
  /** Worker tuning, for tests and benchmarks. */
  readonly workerOptions?: Pick<
    WorkerOptions,
    'heartbeatSeconds' | 'leaseSeconds' | 'killGraceSeconds' | 'flushIntervalMs' | 'pollWaitSeconds' | 'onProcessStarted'
  >;
  /** An OIDC issuer the web console offers ("Sign in with <name>"); the API must accept its tokens. */
  readonly consoleOidc?: ConsoleConfigFile['oidc'];
}

export interface LocalPlatform {
  readonly url: string;
  readonly config: RuntimeConfig;
  readonly stateFile: string;
  /** The first admin API key (also in `<dataDir>/auth/admin-key`): what benches and tests send. */
  readonly adminKey: string;
  readonly dataDir: string;
  readonly workers: readonly Worker[];
  stop(): Promise<void>;
}

const LOCAL_PREFIX = 'runplane';
/** The built web console (`npm run build:console`, run by `npm ci`). */
const CONSOLE_DIST = fileURLToPath(new URL('../console/dist', import.meta.url));

/**
 * The embedded platform: DynamoDB Local (data under `<dataDir>/dynamodb` unless in memory), fauxqs
 * in this process, the Lambda handlers over HTTP, and workers running jobs as local processes.
 */
export async function startLocalPlatform(options: LocalPlatformOptions = {}): Promise<LocalPlatform> {
  const log = options.log ?? ((line: string) => console.log(line));
  const dataDir = resolve(options.dataDir ?? '.runplane');
  const prefix = options.prefix ?? LOCAL_PREFIX;
  const queueDefinitions = options.queues ?? DEFAULT_QUEUES;
  await mkdir(dataDir, { recursive: true });
  // Two platforms on one data directory would share DynamoDB Local's files: refuse the second.
  const running = await readLocalState(dataDir).catch(() => undefined);
  if (running) {
    throw new Error(`Runplane is already running from ${dataDir} (pid ${running.pid}) at ${running.api}`);
  }

  let dynamo: RunningDynamoDbLocal | undefined;
  let fauxqs: FauxqsServer | undefined;
  let api: LocalApiServer | undefined;
  const workers: Worker[] = [];
  let maintenance: NodeJS.Timeout | undefined;
  let maintenanceRun: Promise<void> = Promise.resolve();
  let checkpoints: NodeJS.Timeout | undefined;
  let checkpointRun: Promise<void> = Promise.resolve();
  let pointer: string | undefined;
  const stop = async () => {
    clearInterval(maintenance);
    clearInterval(checkpoints);
    await maintenanceRun;
    await checkpointRun;
    await Promise.allSettled(workers.map((w) => w.stop({ drainSeconds: 5 })));
    await api?.close();
    await fauxqs?.stop();
    await dynamo?.stop();
    await rm(join(dataDir, LOCAL_STATE_FILE), { force: true });
    await unregisterLocalPlatform(pointer);
  };

  try {
    dynamo = await startDynamoDbLocal(options.inMemory ? {} : { dbPath: join(dataDir, 'dynamodb') });
    fauxqs = await startFauxqs({ port: 0, logger: false, host: '127.0.0.1' });
    const region = 'us-east-1';
    const sqs = createSqsClient({ endpoint: fauxqs.address, region });
    const dynamoClient = new DynamoDBClient({
      region,
      endpoint: dynamo.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await ensureTables(dynamoClient, prefix);
    const queues = await ensureQueues(sqs, prefix, queueDefinitions);
    // First start: a signing key and an admin key under <dataDir>/auth (0600). Every start: the
    // admin key's item exists in the table (an in-memory or wiped database loses it).
    const authPaths = localAuthPaths(dataDir);
    const signingKey = await loadOrCreateSigningKey(authPaths.signingKey);
    const documentClient = createDocumentClient({ region, endpoint: dynamo.endpoint });
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
      endpoints: { dynamodb: dynamo.endpoint, sqs: fauxqs.address },
      region,
      auth: {
        jwt: { issuer: signingKey.issuer, audience: signingKey.audience, publicKeys: [publicJwk(signingKey)] },
        claims: { groups: 'groups', role: 'role' },
      },
    };

    const apiDependencies = createApiDependencies(config, { queue: createJobQueue(config) });
    // fauxqs keeps messages in memory: every job still QUEUED in DynamoDB gets its message again.
    const requeued = await requeueWaitingJobs(config, apiDependencies.jobs);
    if (requeued > 0) log(`re-enqueued ${requeued} queued job(s) from the previous run`);

    api = await startLocalApiServer({
      routes: ROUTES,
      handlers: createHandlers(async () => apiDependencies),
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 8787,
      cors: { allowOrigins: ['*'] },
      console: createConsoleSite({ dir: CONSOLE_DIST, config: { adminKeyFile: authPaths.adminKey, ...(options.consoleOidc ? { oidc: options.consoleOidc } : {}) } }),
      log,
    });

    // The safety nets run here every few seconds; in AWS they are scheduled Lambdas.
    const maintenanceDeps = { ...createMaintenanceDependencies(config), log: maintenanceLog(log) };
    const pools = config.queues.map((q) => q.pool);
    const sweepOptions = options.sweepOptions ?? { dispatchGraceSeconds: 10, leaseGraceSeconds: 30 };
    maintenance = setInterval(() => {
      maintenanceRun = (async () => {
        await sweep(maintenanceDeps, pools, sweepOptions);
        for (const pool of pools) await drainDeadLetters(maintenanceDeps, maintenanceDeps.deadLetters, pool);
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

    const workerDeps = createWorkerDependencies(config);
    const gpus = options.workers === 0 ? [] : await detectGpus(undefined, { warn: log });
    for (const queue of config.queues) {
      if (options.workerPools && !options.workerPools.includes(queue.pool)) continue;
      for (let i = 0; i < (options.workers ?? 1); i++) {
        const worker = new Worker({
          ...workerDeps,
          pool: queue.pool,
          workerId: `local-${queue.pool}-${i + 1}`,
          gpus,
          concurrency: options.workerConcurrency ?? 4,
          leaseSeconds: queue.visibilityTimeoutSeconds,
          // Short polls keep Ctrl-C quick; a long poll returns as soon as a message arrives anyway.
          pollWaitSeconds: 2,
          ...options.workerOptions,
          log: (level, message, fields) => {
            if (level !== 'info') log(`[worker ${queue.pool}] ${level}: ${message} ${JSON.stringify(fields ?? {})}`);
          },
        });
        worker.start();
        workers.push(worker);
      }
    }

    // Paths only: the CLI reads the key from its 0600 file, so local.json holds no secret.
    const auth: LocalAuthState = { adminKeyFile: authPaths.adminKey, signingKeyFile: authPaths.signingKey };
    const state: LocalState & { auth: LocalAuthState } = {
      api: api.url,
      pid: process.pid,
      startedAt: new Date().toISOString(),
      config,
      auth,
    };
    const stateFile = join(dataDir, LOCAL_STATE_FILE);
    await writeFile(stateFile, JSON.stringify(state, null, 2));
    // Lets the CLI find this platform's key from any directory (see core/auth/local-files.ts).
    pointer = await registerLocalPlatform(api.url, dataDir).catch((err: unknown) => {
      log(`could not register the platform for CLI discovery: ${String(err)}`);
      return undefined;
    });
    return { url: api.url, config, stateFile, adminKey, dataDir, workers, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`port ${options.port ?? 8787} is already in use: pick another with --port`, { cause: err });
    }
    throw err;
  }
}

function maintenanceLog(log: (line: string) => void): MaintenanceLogger {
  return (level, message, fields) => log(`[maintenance] ${level}: ${message} ${JSON.stringify(fields ?? {})}`);
}

async function requeueWaitingJobs(
  config: RuntimeConfig,
  jobs: ReturnType<typeof createApiDependencies>['jobs'],
): Promise<number> {
  let count = 0;
  for (const queue of config.queues) {
    let cursor: string | undefined;
    do {
      const page = await jobs.listWaiting(queue.pool, 100, cursor);
      for (const job of page.items) if (await jobs.dispatch(job)) count++;
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
}

/** `runplane dev` / `npm start`: runs until Ctrl-C, then stops everything, the Java process included. */
export async function runDev(options: DevOptions = {}): Promise<void> {
  const platform = await startLocalPlatform({
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    ...(options.inMemory !== undefined ? { inMemory: options.inMemory } : {}),
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
  });
  console.log(`Runplane is running at ${platform.url}`);
  console.log(`  queues:   ${platform.config.queues.map((q) => q.pool).join(', ')}`);
  console.log(`  workers:  ${platform.workers.length} (local processes)`);
  console.log(`  data:     ${options.inMemory ? 'in memory (nothing kept)' : resolve(options.dataDir ?? '.runplane')}`);
  console.log(`  admin key: ${localAuthPaths(platform.dataDir).adminKey} (the CLI on this machine uses it)`);
  console.log(`Try: npx runplane submit --wait -- node -e "console.log('hi')"`);
  console.log('Press Ctrl-C to stop.');
  await new Promise<void>((resolveStop) => {
    let stopping = false;
    const onSignal = () => {
      if (stopping) process.exit(130);
      stopping = true;
      console.log('\nStopping Runplane...');
      void platform.stop().then(resolveStop, (err: unknown) => {
        console.error(err);
        resolveStop();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
