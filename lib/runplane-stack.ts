import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CfnOutput, IgnoreMode, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';
import type { RuntimeQueue } from '../core/config.ts';
import { WORKER_POOLS, poolQueueDefinition, type WorkerPool } from '../core/pools.ts';
import { DEFAULT_EVENT_RETENTION_DAYS } from '../core/resources.ts';
import type { RouteDefinition, RouteName } from '../lambdas/routes.ts';
import { RunplaneAlarms } from './alarms.ts';
import { RunplaneDashboard } from './dashboard.ts';
import { RunplaneApi, type ApiThrottle } from './api.ts';
import { RunplaneAuth } from './auth.ts';
import { RunplaneConsole } from './console.ts';
import { RunplaneData } from './data.ts';
import type { HandlerFunction } from './handler-function.ts';
import { REPO_ROOT } from './paths.ts';
import { RunplaneQueues, type PoolQueue } from './queues.ts';
import { RunplaneReliability, type ReliabilityEntries } from './reliability.ts';
import { WorkerScaler } from './scaler.ts';
import { RunplaneScheduler } from './scheduler.ts';
import type { LogRetentionSettings, OidcSettings } from './settings.ts';
import { RunplaneWorkers } from './workers.ts';

export interface RunplaneStackProps extends StackProps {
  /** Prefix of table and queue names. Default: the stack name, lower-cased. */
  readonly prefix?: string;
  readonly pools?: readonly WorkerPool[];
  /**
   * Whether to deploy the ECS worker pools and their scaler. Default true. Off for LocalStack,
   * where workers run on the developer's machine against the deployed queues and tables.
   */
  readonly deployWorkers?: boolean;
  /** Console origins allowed by CORS. Default none (CORS off). */
  readonly corsOrigins?: readonly string[];
  /** The stage's default per-route limit. Default: DEFAULT_ROUTE_THROTTLE (lib/api.ts). */
  readonly throttle?: ApiThrottle;
  /** Tighter limits for some routes. Default: ROUTE_THROTTLES (lib/api.ts). */
  readonly routeThrottles?: Readonly<Partial<Record<RouteName, ApiThrottle>>>;
  /** An external OIDC issuer the API accepts besides API keys and the deployment's own tokens. */
  readonly oidc?: OidcSettings;
  /** Longest JWT lifetime the API accepts. Default: 24 h (core/config.ts). */
  readonly maxTokenLifetimeSeconds?: number;
  /**
   * Changes whenever it should re-run the auth bootstrap (first admin key, signing key), which is
   * idempotent. Default: the synth time, so every deploy re-runs it.
   */
  readonly deployNonce?: string;
  /** Deletion protection and RETAIN on tables and buckets. Default true. */
  readonly protectData?: boolean;
  /** Default: built from worker-image/Dockerfile at deploy time (a Docker image asset). */
  readonly workerImage?: ecs.ContainerImage;
  readonly containerInsights?: boolean;
  /** Default: the real route table, lambdas/routes.ts. */
  readonly routes?: readonly RouteDefinition[];
  /** Default: the reliability handlers that exist among RELIABILITY_ENTRIES. */
  readonly reliability?: ReliabilityEntries;
  /** Events' TTL and the log archive's lifecycle. Default: lib/settings.ts's defaults (30 days; 30 days to IA, 365 to expiry). */
  readonly logRetention?: Partial<LogRetentionSettings>;
  /**
   * The web console on CloudFront, with the API on the same distribution. Default true. Deploys
   * console/dist when it was built (npm ci builds it), a placeholder page otherwise.
   */
  readonly console?: boolean;
  /** Where the console's files are; default console/dist. */
  readonly consoleDistDir?: string;
  /** USD per instance-hour by instance type, over core/usage/instance-prices.ts's table: what usage costs are priced at. */
  readonly instancePrices?: Readonly<Record<string, number>>;
}

/** Feature flags that change what is synthesized, set on the stack so tests and the CLI agree. */
const FEATURE_FLAGS = {
  // S3 access-log delivery authorized by a bucket policy, so the logs bucket needs no ACLs.
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
};

/** Where the reliability issue's handlers live; each is deployed once its module exists. */
export const RELIABILITY_ENTRIES: Required<ReliabilityEntries> = {
  deadLetterConsumer: 'lambdas/dead-letters.ts',
  reaper: 'lambdas/maintenance.ts',
  auditCheckpoint: 'lambdas/audit-checkpoint.ts',
};

export function presentReliabilityEntries(entries: ReliabilityEntries = RELIABILITY_ENTRIES): ReliabilityEntries {
  return Object.fromEntries(
    Object.entries(entries).filter(([, entry]) => entry !== undefined && existsSync(resolve(REPO_ROOT, entry))),
  );
}

/** The paths worker-image/.dockerignore admits into the worker image's build context. */
export function workerImageContextPatterns(): string[] {
  return readFileSync(resolve(REPO_ROOT, 'worker-image/.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/**
 * The worker image, built by `cdk deploy` (synth only stages the build context, it runs no
 * Docker). The context is the repository root, because the worker bundles core/; only the paths
 * worker-image/.dockerignore admits are staged, so the asset hash changes only with the worker's inputs.
 */
export function workerImageFromSource(): ecs.ContainerImage {
  return ecs.ContainerImage.fromAsset(REPO_ROOT, {
    file: 'worker-image/Dockerfile',
    exclude: workerImageContextPatterns(),
    ignoreMode: IgnoreMode.DOCKER,
    // The ECS GPU-optimized AMI is x86_64; build for it whatever the deploying machine is.
    platform: Platform.LINUX_AMD64,
  });
}

/**
 * Runplane on AWS: API (HTTP API + one Lambda per route), data (three tables, artifacts bucket),
 * queues (one per worker pool, each with a DLQ), worker pools (ECS on EC2, GPU-capable), the
 * scaler, the reliability and audit checkpoint functions, authentication (the first admin key and
 * the signing key in Secrets Manager, filled by a deploy-time custom resource) and alarms. Environment-agnostic: it synthesizes without
 * credentials, network or context lookups.
 */
export class RunplaneStack extends Stack {
  readonly prefix: string;
  readonly data: RunplaneData;
  readonly queues: RunplaneQueues;
  readonly workers?: RunplaneWorkers;
  readonly scaler?: WorkerScaler;
  readonly scheduler: RunplaneScheduler;
  readonly auth: RunplaneAuth;
  readonly api: RunplaneApi;
  readonly reliability: RunplaneReliability;
  readonly alarms: RunplaneAlarms;
  readonly dashboard: RunplaneDashboard;
  readonly console?: RunplaneConsole;

  constructor(scope: Construct, id: string, props: RunplaneStackProps = {}) {
    super(scope, id, props);
    for (const [flag, value] of Object.entries(FEATURE_FLAGS)) this.node.setContext(flag, value);
    this.prefix = props.prefix ?? this.stackName.toLowerCase();
    const pools = props.pools ?? WORKER_POOLS;
    const protectData = props.protectData ?? true;
    const logRemovalPolicy = protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    const logRetention = props.logRetention ?? {};
    this.data = new RunplaneData(this, 'Data', {
      prefix: this.prefix,
      protectData,
      logArchive: {
        ...(logRetention.archiveTransitionDays !== undefined ? { transitionDays: logRetention.archiveTransitionDays } : {}),
        ...(logRetention.archiveExpirationDays !== undefined ? { expirationDays: logRetention.archiveExpirationDays } : {}),
      },
    });
    this.queues = new RunplaneQueues(this, 'Queues', { prefix: this.prefix, definitions: pools.map(poolQueueDefinition) });

    const gpuLimit = (pool: string) => {
      const gpus = pools.find((p) => p.name === pool)?.gpusPerInstance;
      return gpus === undefined ? {} : { gpusPerInstance: gpus };
    };
    // Exactly the variables core/config.ts reads.
    const runtimeEnvironment = (queues: readonly PoolQueue[]): Record<string, string> => ({
      RUNPLANE_JOBS_TABLE: this.data.jobs.tableName,
      RUNPLANE_EVENTS_TABLE: this.data.events.tableName,
      RUNPLANE_AUDIT_TABLE: this.data.audit.tableName,
      RUNPLANE_QUEUES: this.toJsonString(
        queues.map(
          ({ definition, queue, deadLetterQueue }): RuntimeQueue => ({
            pool: definition.pool,
            url: queue.queueUrl,
            deadLetterUrl: deadLetterQueue.queueUrl,
            visibilityTimeoutSeconds: definition.visibilityTimeoutSeconds,
            maxReceiveCount: definition.maxReceiveCount,
            defaultMaxAttempts: definition.defaultMaxAttempts,
            ...gpuLimit(definition.pool),
          }),
        ),
      ),
      RUNPLANE_ARTIFACTS_BUCKET: this.data.artifacts.bucketName,
      RUNPLANE_EVENT_RETENTION_DAYS: String(logRetention.eventRetentionDays ?? DEFAULT_EVENT_RETENTION_DAYS),
      // Runnable jobs and freed capacity ask the scheduler for a pass here (lib/scheduler.ts).
      RUNPLANE_SCHEDULER_QUEUE_URL: this.queues.kicks.queue.queueUrl,
    });
    const handlerEnvironment = runtimeEnvironment(this.queues.pools);
    this.scheduler = new RunplaneScheduler(this, 'Scheduler', { data: this.data, queues: this.queues, runtimeEnvironment: handlerEnvironment });

    if (props.deployWorkers ?? true) {
      this.workers = new RunplaneWorkers(this, 'Workers', {
        pools,
        queues: this.queues,
        data: this.data,
        image: props.workerImage ?? workerImageFromSource(),
        // A worker learns only its own queue, the only one its role may touch.
        runtimeEnvironmentFor: (pool) => runtimeEnvironment([this.queues.pool(pool)]),
        containerInsights: props.containerInsights ?? false,
        logRemovalPolicy,
        ...(props.instancePrices ? { instancePrices: props.instancePrices } : {}),
      });
      this.scaler = new WorkerScaler(this, 'Scaler', {
        pools: this.workers.pools,
        queuesEnvironment: handlerEnvironment.RUNPLANE_QUEUES!,
        data: this.data,
      });
    }
    this.auth = new RunplaneAuth(this, 'Auth', {
      prefix: this.prefix,
      data: this.data,
      secretRemovalPolicy: protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      ...(props.oidc ? { oidc: props.oidc } : {}),
      ...(props.maxTokenLifetimeSeconds !== undefined ? { maxTokenLifetimeSeconds: props.maxTokenLifetimeSeconds } : {}),
      deployNonce: props.deployNonce ?? new Date().toISOString(),
    });
    this.api = new RunplaneApi(this, 'Api', {
      data: this.data,
      queues: this.queues,
      runtimeEnvironment: handlerEnvironment,
      authEnvironment: this.auth.environment,
      corsOrigins: props.corsOrigins ?? [],
      ...(props.throttle ? { throttle: props.throttle } : {}),
      ...(props.routeThrottles ? { routeThrottles: props.routeThrottles } : {}),
      ...(props.routes ? { routes: props.routes } : {}),
      removalPolicy: logRemovalPolicy,
    });
    this.reliability = new RunplaneReliability(this, 'Reliability', {
      entries: props.reliability ?? presentReliabilityEntries(),
      data: this.data,
      queues: this.queues,
      runtimeEnvironment: handlerEnvironment,
    });

    const functions = new Map<string, HandlerFunction>(this.api.functions);
    functions.set('scheduler', this.scheduler.handler);
    if (this.scaler) functions.set('scaler', this.scaler.handler);
    if (this.reliability.deadLetterConsumer) functions.set('deadLetterConsumer', this.reliability.deadLetterConsumer);
    if (this.reliability.reaper) functions.set('reaper', this.reliability.reaper);
    if (this.reliability.auditCheckpoint) functions.set('auditCheckpoint', this.reliability.auditCheckpoint);
    // Not the auth bootstrap: it runs only inside a deploy, and its failure fails that deploy.
    this.alarms = new RunplaneAlarms(this, 'Alarms', { queues: this.queues.pools, kicks: this.queues.kicks, functions, api: this.api });
    this.dashboard = new RunplaneDashboard(this, 'Dashboard', { dashboardName: `${this.prefix}-overview` });

    if (props.console ?? true) {
      this.console = new RunplaneConsole(this, 'Console', {
        api: this.api.httpApi,
        logsBucket: this.data.logs,
        removalPolicy: protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
        ...(props.consoleDistDir ? { distDir: props.consoleDistDir } : {}),
        // The console signs in as the OIDC client whose ID tokens the API accepts (their audience).
        ...(props.oidc ? { oidc: { issuer: props.oidc.issuer, clientId: props.oidc.audience } } : {}),
      });
      new CfnOutput(this, 'ConsoleUrl', {
        value: this.console.url,
        description: 'The web console; the API is on the same origin under /v1 (RUNPLANE_URL may be this too)',
      });
    }

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'The API endpoint: export RUNPLANE_URL=<this> for the CLI' });
    new CfnOutput(this, 'ArtifactsBucketName', { value: this.data.artifacts.bucketName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn, description: 'Subscribe to receive alarms' });
    new CfnOutput(this, 'JobsTableName', { value: this.data.jobs.tableName });
    new CfnOutput(this, 'AdminKeySecretName', {
      value: this.auth.adminKeySecretName,
      description: 'The first admin API key: aws secretsmanager get-secret-value --secret-id <this> --query SecretString --output text',
    });
    new CfnOutput(this, 'AdminKeySecretArn', { value: this.auth.adminKeySecret.secretArn });
    new CfnOutput(this, 'AdminKeyId', { value: this.auth.bootstrap.getAttString('AdminKeyId'), description: 'Id of the first admin API key (to revoke it later)' });
    new CfnOutput(this, 'SigningKeySecretName', {
      value: this.auth.signingKeySecretName,
      description: 'The token signing key document: runplane token --key-file <its value>',
    });
    new CfnOutput(this, 'SigningKeySecretArn', { value: this.auth.signingKeySecret.secretArn });
    if (this.workers) {
      new CfnOutput(this, 'ClusterName', { value: this.workers.cluster.clusterName });
      new CfnOutput(this, 'ScalingEventsTopicArn', {
        value: this.workers.scalingEvents.topicArn,
        description: 'Subscribe to see worker instance launches and launch failures',
      });
    }
    // What `runplane worker` needs to join this deployment from another machine (LocalStack, debugging).
    new CfnOutput(this, 'RuntimeQueues', { value: handlerEnvironment.RUNPLANE_QUEUES!, description: 'RUNPLANE_QUEUES' });
    new CfnOutput(this, 'SchedulerQueueUrl', {
      value: this.queues.kicks.queue.queueUrl,
      description: 'RUNPLANE_SCHEDULER_QUEUE_URL: a worker that joins from elsewhere kicks the scheduler here',
    });
  }
}
