import { CfnResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { LOG_ARCHIVE_PREFIX } from '../core/events/log-archive.ts';
import { AUDIT_TABLE, EVENTS_TABLE, JOBS_TABLE } from '../core/resources.ts';
import { ROUTES, type RouteDefinition, type RouteName } from '../lambdas/routes.ts';
import {
  AUDIT_GRANTS,
  EVENTS_GRANTS,
  JOBS_GRANTS,
  BUCKET_PREFIXES,
  OBJECT_GRANTS,
  grantObjects,
  grantTable,
  type AuditGrant,
  type EventsGrant,
  type JobsGrant,
  type ObjectsGrant,
} from './access.ts';
import type { RunplaneData } from './data.ts';
import { HandlerFunction } from './handler-function.ts';
import type { RunplaneQueues } from './queues.ts';

/** What each route's function may touch. Anything not listed is denied. */
export interface RouteAccess {
  /** Grants on the jobs table, in statement order (every authenticated route needs `get` for its key check). */
  readonly jobs?: readonly JobsGrant[];
  readonly events?: EventsGrant;
  readonly audit?: AuditGrant;
  /** Grants on the artifacts bucket (lib/access.ts OBJECT_GRANTS). */
  readonly objects?: readonly ObjectsGrant[];
  /**
   * sqs:SendMessage on the scheduler's kick queue: the route makes jobs runnable, and the scheduler
   * admits them (sends their messages) when capacity allows. No route sends a job's message itself.
   */
  readonly kick?: boolean;
  /** s3:GetObject on the log archive (reads of archived attempts, presigned downloads). */
  readonly readLogArchive?: boolean;
}

/**
 * Each route's grants, from what its handler calls (lambdas/*.ts → core services → stores). Every
 * mutation is audited in its own transaction (`audit: 'append'`).
 */
export const ROUTE_ACCESS: Readonly<Record<RouteName, RouteAccess>> = {
  healthz: {},
  getOpenApi: {},
  notFound: {},
  // A job naming a work directory archive is refused unless the archive exists (HeadObject). A job
  // with dependencies: their edges first, then the re-check after the create may release the job
  // or fail it (an update), and a failure settles its own dependents (the dependents GSI). An
  // array's first children are materialised by its submit.
  submitJob: {
    jobs: ['get', 'submitJobs', 'recordDependencyEdges', 'updateJobs', 'queryDependents', 'materialiseChildren'],
    audit: 'append',
    kick: true,
    objects: ['readArchives', 'listBucket'],
  },
  // A retry is a new attempt sent to the pool, like a submit (the job's update and its guard's put).
  // An array's retry lists its failed children (the byArrayParent GSI).
  retryJob: { jobs: ['get', 'createJobs', 'query', 'batchGet'], audit: 'append', kick: true },
  // A cancelled queued job is a final state: the jobs waiting for it are released (a send) or failed.
  // An array's cancel lists its unfinished children (the byArrayParent GSI) and cancels each.
  cancelJob: { jobs: ['get', 'updateJobs', 'queryDependents', 'query', 'batchGet'], audit: 'append', kick: true },
  // A new priority (audited), then the job's admission like a submit's; the answer's waiting reason
  // reads the worker registry as GET does.
  updateJob: { jobs: ['get', 'query', 'batchGet', 'updateJobs'], audit: 'append', kick: true },
  // A queued job's waiting reason reads the worker registry (the workersByPool GSI).
  getJob: { jobs: ['get', 'query', 'batchGet'] },
  // The index holds keys only: the page's jobs are read with one BatchGetItem.
  listJobs: { jobs: ['get', 'query', 'batchGet'] },
  listJobChildren: { jobs: ['get', 'query', 'batchGet'] },
  // Reading a live job's output marks it followed (its output is then stored every 200 ms).
  listJobEvents: { jobs: ['get', 'markOutputWatched'], events: 'query', readLogArchive: true },
  getJobLogs: { jobs: ['get', 'markOutputWatched'], events: 'query', readLogArchive: true },
  listWorkers: { jobs: ['get', 'query'] },
  // The names index (GetItem), then the groups (BatchGetItem).
  listGroups: { jobs: ['get', 'batchGet'] },
  getGroup: { jobs: ['get', 'batchGet'] },
  // The group item and the names index, updated with the audit entry in one transaction.
  updateGroup: { jobs: ['get', 'writeGroups'], audit: 'append' },
  // Usage records and worker lifetimes: the `usage` GSI.
  getUsage: { jobs: ['get', 'query'] },
  createApiKey: { jobs: ['get', 'createApiKeys'], audit: 'append' },
  // The revoked key is read back (GetItem) after its transaction.
  revokeApiKey: { jobs: ['get', 'revokeApiKeys'], audit: 'append' },
  // The index item (GetItem), then one BatchGetItem per page of keys.
  listApiKeys: { jobs: ['get', 'batchGet'] },
  listAudit: { jobs: ['get'], audit: 'read' },
  verifyAudit: { jobs: ['get'], audit: 'read' },
  createUpload: { jobs: ['get'], objects: ['readArchives', 'listBucket', 'writeArchives'] },
  completeUpload: { jobs: ['get'], objects: ['writeArchives'] },
  // The job (authorization) and its artifact records: the artifactsByAttempt GSI.
  listArtifacts: { jobs: ['get', 'query'] },
  // The record by key (GetItem), then a presigned GET.
  getArtifact: { jobs: ['get'], objects: ['readArtifacts'] },
};

/** Requests per second for one route (API Gateway's token bucket: steady rate, bucket size). */
export interface ApiThrottle {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/**
 * The stage's default limit, which applies to each route on its own (HTTP APIs have no stage-wide
 * total; the account's regional limit, 10,000 requests per second by default, is the ceiling).
 */
export const DEFAULT_ROUTE_THROTTLE: ApiThrottle = { rateLimit: 100, burstLimit: 200 };

/**
 * Routes held tighter than reads. Limits are per route, not per caller (see specs/06-deployment.md,
 * "Rate limiting"): they cap what one runaway client can make the deployment spend, and keep a
 * flood on one route from starving the others.
 * - Submits and retries write a transaction, send a message and may call ECS UpdateService: 25/s
 *   sustained is a 1,500-job sweep a minute; a burst of 50 absorbs a script's first loop.
 * - API keys are created and revoked by people: 2/s is ample, and it slows a stolen admin token.
 * - A verify reads every audit entry of the deployment: one a second at most.
 */
export const ROUTE_THROTTLES: Readonly<Partial<Record<RouteName, ApiThrottle>>> = {
  submitJob: { rateLimit: 25, burstLimit: 50 },
  retryJob: { rateLimit: 25, burstLimit: 50 },
  createApiKey: { rateLimit: 2, burstLimit: 5 },
  revokeApiKey: { rateLimit: 2, burstLimit: 5 },
  listApiKeys: { rateLimit: 2, burstLimit: 5 },
  updateGroup: { rateLimit: 2, burstLimit: 5 },
  verifyAudit: { rateLimit: 1, burstLimit: 2 },
};

export interface RunplaneApiProps {
  readonly data: RunplaneData;
  readonly queues: RunplaneQueues;
  /** The environment of core/config.ts, shared by every handler. */
  readonly runtimeEnvironment: Record<string, string>;
  /** Authentication settings (RUNPLANE_JWT_*, RUNPLANE_OIDC_*, claims), for the routes that authenticate. */
  readonly authEnvironment: Record<string, string>;
  /** Origins the console is served from; none disables CORS. */
  readonly corsOrigins: readonly string[];
  /** Default: DEFAULT_ROUTE_THROTTLE. */
  readonly throttle?: ApiThrottle;
  /** Default: ROUTE_THROTTLES. */
  readonly routeThrottles?: Readonly<Partial<Record<RouteName, ApiThrottle>>>;
  readonly routes?: readonly RouteDefinition[];
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The HTTP API: one Lambda per entry of lambdas/routes.ts (the `$default` route included), each
 * with the permissions ROUTE_ACCESS gives its route. The `$default` stage carries per-route
 * throttling and JSON access logs.
 */
export class RunplaneApi extends Construct {
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly functions: ReadonlyMap<RouteName, HandlerFunction>;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: RunplaneApiProps) {
    super(scope, id);
    const { data, queues } = props;
    const routes = props.routes ?? ROUTES;

    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      description: 'Runplane job API',
      // The stage is declared below so it can carry throttling and access logs.
      createDefaultStage: false,
      ...(props.corsOrigins.length > 0
        ? {
            corsPreflight: {
              allowOrigins: [...props.corsOrigins],
              allowMethods: [apigwv2.CorsHttpMethod.GET, apigwv2.CorsHttpMethod.POST, apigwv2.CorsHttpMethod.PUT, apigwv2.CorsHttpMethod.PATCH, apigwv2.CorsHttpMethod.OPTIONS],
              allowHeaders: ['authorization', 'content-type', 'idempotency-key'],
              exposeHeaders: ['location'],
              // Tokens travel in the Authorization header, not in cookies.
              allowCredentials: false,
              maxAge: Duration.hours(1),
            },
          }
        : {}),
    });

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? DEFAULT_ROUTE_THROTTLE,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            method: '$context.httpMethod',
            routeKey: '$context.routeKey',
            path: '$context.path',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationLatencyMs: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });

    const functions = new Map<RouteName, HandlerFunction>();
    const throttled: apigwv2.HttpRoute[] = [];
    const routeThrottles = props.routeThrottles ?? ROUTE_THROTTLES;
    for (const route of routes) {
      const access = ROUTE_ACCESS[route.name];
      const fn = new HandlerFunction(this, `${route.name}Handler`, {
        entry: route.entry,
        description: `${route.routeKey} handler`,
        environment: {
          ...props.runtimeEnvironment,
          // Only routes that authenticate learn how: the health check and the 404 need nothing.
          ...(route.authenticated ? props.authEnvironment : {}),
        },
      });
      for (const grant of access.jobs ?? []) grantTable(fn, data.jobs, JOBS_TABLE, JOBS_GRANTS[grant]);
      if (access.events) grantTable(fn, data.events, EVENTS_TABLE, EVENTS_GRANTS[access.events]);
      if (access.audit) grantTable(fn, data.audit, AUDIT_TABLE, AUDIT_GRANTS[access.audit]);
      for (const grant of access.objects ?? []) grantObjects(fn, data.artifacts, OBJECT_GRANTS[grant]);
      if (access.objects?.length) acknowledgeObjectPrefixes(fn, data.artifacts);
      if (access.kick) fn.allow(['sqs:SendMessage'], [queues.kicks.queue.queueArn]);
      if (access.readLogArchive) {
        fn.allow(['s3:GetObject'], [data.artifacts.arnForObjects(`${LOG_ARCHIVE_PREFIX}*`)]);
        Validations.of(fn.role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(data.artifacts.node.defaultChild as CfnResource)}.Arn>/${LOG_ARCHIVE_PREFIX}*]`,
          reason: 'Log archives are keyed by job id and attempt, known only at run time; the grant covers the log archive prefix of the artifacts bucket only.',
        });
      }

      const integration = new HttpLambdaIntegration(`${route.name}Integration`, fn.function, {
        payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
      });
      let created: apigwv2.HttpRoute[];
      if (route.routeKey === '$default') {
        created = [
          new apigwv2.HttpRoute(this, `${route.name}Route`, {
            httpApi: this.httpApi,
            routeKey: apigwv2.HttpRouteKey.DEFAULT,
            integration,
          }),
        ];
      } else {
        const [method, path] = route.routeKey.split(' ') as [string, string];
        created = this.httpApi.addRoutes({ path, methods: [method as apigwv2.HttpMethod], integration });
      }
      if (routeThrottles[route.name]) throttled.push(...created);
      functions.set(route.name, fn);
    }
    this.functions = functions;

    // Per-route limits are the stage's RouteSettings (the L2 stage only sets the default). A route
    // named there must exist before the stage, or the stage fails with "Unable to find Route by key".
    const routeSettings = Object.fromEntries(
      routes.flatMap((route) => {
        const limit = routeThrottles[route.name];
        return limit ? [[route.routeKey, { ThrottlingRateLimit: limit.rateLimit, ThrottlingBurstLimit: limit.burstLimit }]] : [];
      }),
    );
    if (Object.keys(routeSettings).length > 0) {
      (this.stage.node.defaultChild as apigwv2.CfnStage).routeSettings = routeSettings;
      for (const route of throttled) this.stage.node.addDependency(route);
    }

    // Authentication is the handlers' job (lambdas/routes.ts `authenticated`, core/auth): the same
    // code authenticates locally and on AWS, and the health check must stay open for probes.
    for (const route of this.node.findAll().filter((c) => c instanceof apigwv2.HttpRoute)) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: 'Callers are authenticated by the Lambda handlers (bearer tokens verified in core/auth), identically on the local platform and on AWS; /healthz is deliberately public.',
      });
    }
  }

  get url(): string {
    return this.stage.url;
  }
}

/** Keys below a prefix are chosen at run time (hashes, job ids, paths); the grants name the prefix, never the whole bucket. */
function acknowledgeObjectPrefixes(fn: HandlerFunction, bucket: s3.Bucket): void {
  const arn = `<${Stack.of(fn).getLogicalId(bucket.node.defaultChild as CfnResource)}.Arn>`;
  for (const prefix of Object.values(BUCKET_PREFIXES)) {
    Validations.of(fn).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${arn}/${prefix}*]`,
      reason: `Objects under ${prefix} are named at run time (archive hashes, job ids, artifact paths); the grant is limited to that prefix of the artifacts bucket.`,
    });
  }
}
