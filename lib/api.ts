import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AUDIT_TABLE, EVENTS_TABLE, JOBS_TABLE } from '../core/resources.ts';
import { ROUTES, type RouteDefinition, type RouteName } from '../lambdas/routes.ts';
import { TABLE_ACTIONS, tableResources, type TableAccess } from './access.ts';
import type { RunplaneData } from './data.ts';
import { HandlerFunction } from './handler-function.ts';
import type { RunplaneQueues } from './queues.ts';
import type { ScalingBinding } from './scaler.ts';

/** What each route's function may touch. Anything not listed is denied. */
export interface RouteAccess {
  readonly jobs?: Extract<TableAccess, 'read' | 'writeJobs'>;
  readonly events?: Extract<TableAccess, 'read' | 'appendEvents'>;
  readonly audit?: Extract<TableAccess, 'appendAudit'>;
  /** sqs:SendMessage on every pool queue. */
  readonly enqueue?: boolean;
  /** Scale the job's pool out right after the send (core/scaling/ecs-scaler.ts workerScalerFromEnv). */
  readonly scaleWorkers?: boolean;
}

export const ROUTE_ACCESS: Readonly<Record<RouteName, RouteAccess>> = {
  healthz: {},
  notFound: {},
  submitJob: { jobs: 'writeJobs', audit: 'appendAudit', enqueue: true, scaleWorkers: true },
  // A retry is a new attempt sent to the pool, like a submit.
  retryJob: { jobs: 'writeJobs', audit: 'appendAudit', enqueue: true, scaleWorkers: true },
  cancelJob: { jobs: 'writeJobs', audit: 'appendAudit' },
  getJob: { jobs: 'read', events: 'read' },
  listJobs: { jobs: 'read', events: 'read' },
  listJobEvents: { jobs: 'read', events: 'read' },
  getJobLogs: { jobs: 'read', events: 'read' },
  // Worker registry items live in the jobs table.
  listWorkers: { jobs: 'read' },
};

export interface ApiThrottle {
  /** Steady-state requests per second across the API. */
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface RunplaneApiProps {
  readonly data: RunplaneData;
  readonly queues: RunplaneQueues;
  /** The environment of core/config.ts, shared by every handler. */
  readonly runtimeEnvironment: Record<string, string>;
  /** Absent when the stack has no worker pools (LocalStack): submit then only enqueues. */
  readonly scaling?: ScalingBinding;
  /** Origins the console is served from; none disables CORS. */
  readonly corsOrigins: readonly string[];
  readonly throttle?: ApiThrottle;
  readonly routes?: readonly RouteDefinition[];
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The HTTP API: one Lambda per entry of lambdas/routes.ts (the `$default` route included), each
 * with the permissions ROUTE_ACCESS gives its route. The `$default` stage carries throttling and
 * JSON access logs.
 */
export class RunplaneApi extends Construct {
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly functions: ReadonlyMap<RouteName, HandlerFunction>;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: RunplaneApiProps) {
    super(scope, id);
    const { data, queues } = props;

    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      description: 'Runplane job API',
      // The stage is declared below so it can carry throttling and access logs.
      createDefaultStage: false,
      ...(props.corsOrigins.length > 0
        ? {
            corsPreflight: {
              allowOrigins: [...props.corsOrigins],
              allowMethods: [apigwv2.CorsHttpMethod.GET, apigwv2.CorsHttpMethod.POST, apigwv2.CorsHttpMethod.OPTIONS],
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
    const throttle = props.throttle ?? { rateLimit: 100, burstLimit: 200 };
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle,
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

    const jobsTable = tableResources(data.jobs, JOBS_TABLE);
    const eventsTable = tableResources(data.events, EVENTS_TABLE);
    const auditTable = tableResources(data.audit, AUDIT_TABLE);
    const functions = new Map<RouteName, HandlerFunction>();
    for (const route of props.routes ?? ROUTES) {
      const access = ROUTE_ACCESS[route.name];
      const scaling = access.scaleWorkers ? props.scaling : undefined;
      const fn = new HandlerFunction(this, `${route.name}Handler`, {
        entry: route.entry,
        description: `${route.routeKey} handler`,
        environment: {
          ...props.runtimeEnvironment,
          ...(scaling ? scaling.environment : {}),
        },
      });
      if (access.jobs) fn.allow([...TABLE_ACTIONS[access.jobs]], jobsTable);
      if (access.events) fn.allow([...TABLE_ACTIONS[access.events]], eventsTable);
      if (access.audit) fn.allow([...TABLE_ACTIONS[access.audit]], auditTable);
      if (access.enqueue) fn.allow(['sqs:SendMessage'], queues.pools.map((p) => p.queue.queueArn));
      scaling?.grantScale(fn);

      const integration = new HttpLambdaIntegration(`${route.name}Integration`, fn.function, {
        payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
      });
      if (route.routeKey === '$default') {
        new apigwv2.HttpRoute(this, `${route.name}Route`, {
          httpApi: this.httpApi,
          routeKey: apigwv2.HttpRouteKey.DEFAULT,
          integration,
        });
      } else {
        const [method, path] = route.routeKey.split(' ') as [string, string];
        this.httpApi.addRoutes({ path, methods: [method as apigwv2.HttpMethod], integration });
      }
      functions.set(route.name, fn);
    }
    this.functions = functions;

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
