import { readFileSync } from 'node:fs';
import { JOB_NETWORK } from '../../core/isolation/job-network.ts';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKER_POOLS, poolQueueDefinition } from '../../core/pools.ts';
import {
  DEFAULT_QUEUES,
  JOBS_TABLE,
  TABLES,
  deadLetterQueueName,
  indexProjection,
  queueName,
  tableName,
  type GlobalIndexDefinition,
  type TableDefinition,
} from '../../core/resources.ts';
import { ROUTES } from '../../lambdas/routes.ts';
import { DEFAULT_ROUTE_THROTTLE, ROUTE_ACCESS, ROUTE_THROTTLES, type RouteAccess } from '../../lib/api.ts';
import { AUDIT_GRANTS, EVENTS_GRANTS, JOBS_GRANTS, JOBS_TABLE_KEYS, OBJECT_GRANTS } from '../../lib/access.ts';
import { RELIABILITY_ENTRIES, presentReliabilityEntries } from '../../lib/runplane-stack.ts';
import { DOCKER_SOCKET, WORKER_HEALTHCHECK_PATH, WORKER_HOST_WORKDIR } from '../../lib/worker-pool.ts';
import { cfnText, functionEnvironment, properties, roleStatements, synthesize, type Statement, type SynthesizedStack } from './support/template.ts';
import { poolPricing, pricingEnvironment } from '../../core/usage/instance-prices.ts';
import { workerNodeOptions } from '../../core/worker/memory.ts';
import { FINISHED_STATES, METRIC, METRICS_NAMESPACE, METRICS_SERVICE } from '../../core/observability/metric-names.ts';

/** The CloudFormation form of a GSI's projection as core/resources.ts declares it. */
function projectionOf(index: GlobalIndexDefinition) {
  const projection = indexProjection(index);
  return projection.type === 'INCLUDE'
    ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...projection.attributes] }
    : { ProjectionType: projection.type };
}

const RUNTIME_VARIABLES = [
  'RUNPLANE_JOBS_TABLE',
  'RUNPLANE_EVENTS_TABLE',
  'RUNPLANE_AUDIT_TABLE',
  'RUNPLANE_QUEUES',
  'RUNPLANE_ARTIFACTS_BUCKET',
  'RUNPLANE_EVENT_RETENTION_DAYS',
  'RUNPLANE_SCHEDULER_QUEUE_URL',
];
const AUTH_VARIABLES = ['RUNPLANE_JWT_ISSUER', 'RUNPLANE_JWT_AUDIENCE', 'RUNPLANE_JWT_PUBLIC_KEYS'];
const OIDC = { jwksUrl: 'https://idp.example.com/.well-known/jwks.json', issuer: 'https://idp.example.com/', audience: 'runplane' };

describe('RunplaneStack (default deployment)', () => {
  let s: SynthesizedStack;
  beforeAll(() => {
    s = synthesize({ corsOrigins: ['https://console.example.com'], deployNonce: '2026-01-01T00:00:00.000Z' });
    // Synthesis with cdk-nag (and the console's staged files) takes long on a loaded machine.
  }, 180_000);

  const ref = (construct: Parameters<SynthesizedStack['id']>[0]) => `\${${s.id(construct)}}`;
  const arn = (construct: Parameters<SynthesizedStack['id']>[0]) => `\${${s.id(construct)}.Arn}`;
  const logsStatement = (logGroup: Parameters<SynthesizedStack['id']>[0]): Statement => ({
    actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    resources: [arn(logGroup)],
  });

  describe('data', () => {
    it('projects no job index whole: a lease renewal or a history entry rewrites none of them', () => {
      const [jobs] = Object.values(s.template.findResources('AWS::DynamoDB::GlobalTable')).filter(
        (t) => t.Properties.TableName === tableName('runplane', JOBS_TABLE),
      );
      const indexes = jobs!.Properties.GlobalSecondaryIndexes as { IndexName: string; Projection: { ProjectionType: string; NonKeyAttributes?: string[] } }[];
      // Not job indexes: registry items, artifact records, usage records and worker lifetimes only, never rewritten by a heartbeat.
      const jobIndexes = indexes.filter((g) => !['workersByPool', 'artifactsByAttempt', 'usage'].includes(g.IndexName));
      expect(jobIndexes.map((g) => g.IndexName)).toEqual(expect.arrayContaining(['byGroup', 'byGroupQueue', 'byGroupState', 'pending', 'running', 'undispatched']));
      for (const g of jobIndexes) {
        expect(g.Projection.ProjectionType, g.IndexName).not.toBe('ALL');
        expect(g.Projection.NonKeyAttributes ?? [], g.IndexName).not.toEqual(expect.arrayContaining(['leaseExpiresAt']));
        expect(g.Projection.NonKeyAttributes ?? [], g.IndexName).not.toEqual(expect.arrayContaining(['history']));
      }
    });

    it('creates each table of core/resources.ts with its keys, GSIs and TTL', () => {
      const tables = s.template.findResources('AWS::DynamoDB::GlobalTable');
      expect(Object.keys(tables)).toHaveLength(TABLES.length);
      for (const definition of TABLES as readonly TableDefinition[]) {
        const [table] = Object.values(tables).filter((t) => t.Properties.TableName === tableName('runplane', definition));
        expect(table, definition.logicalName).toBeDefined();
        const p = table!.Properties;
        expect(p.KeySchema).toEqual([
          { AttributeName: definition.partitionKey.name, KeyType: 'HASH' },
          ...(definition.sortKey ? [{ AttributeName: definition.sortKey.name, KeyType: 'RANGE' }] : []),
        ]);
        expect(p.GlobalSecondaryIndexes ?? []).toEqual(
          definition.globalIndexes.map((g) => ({
            IndexName: g.indexName,
            KeySchema: [
              { AttributeName: g.partitionKey.name, KeyType: 'HASH' },
              ...(g.sortKey ? [{ AttributeName: g.sortKey.name, KeyType: 'RANGE' }] : []),
            ],
            Projection: projectionOf(g),
          })),
        );
        const keys = [definition.partitionKey, definition.sortKey, ...definition.globalIndexes.flatMap((g) => [g.partitionKey, g.sortKey])];
        expect(p.AttributeDefinitions).toEqual(
          expect.arrayContaining(keys.filter((k) => k !== undefined).map((k) => ({ AttributeName: k.name, AttributeType: k.type }))),
        );
        expect(p.TimeToLiveSpecification).toEqual(
          definition.ttlAttribute ? { AttributeName: definition.ttlAttribute, Enabled: true } : undefined,
        );
        expect(p).toMatchObject({
          BillingMode: 'PAY_PER_REQUEST',
          SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
          Replicas: [
            expect.objectContaining({
              DeletionProtectionEnabled: true,
              PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
            }),
          ],
        });
        expect(table!.DeletionPolicy).toBe('Retain');
      }
    });

    it('keeps artifacts private, TLS-only, encrypted, logged and expiring', () => {
      const bucket = properties(s.template, s.id(s.stack.data.artifacts));
      expect(bucket).toMatchObject({
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        LoggingConfiguration: { DestinationBucketName: { Ref: s.id(s.stack.data.logs) }, LogFilePrefix: 'artifacts/' },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      });
      // Expiry per prefix: a bucket-wide rule would delete log archives at 90 days too.
      expect((bucket.LifecycleConfiguration as { Rules: unknown[] }).Rules).toEqual([
        { Prefix: 'artifacts/', ExpirationInDays: 90, Status: 'Enabled' },
        { Prefix: 'workdirs/', ExpirationInDays: 90, Status: 'Enabled' },
        {
          Id: 'LogArchive',
          Prefix: 'logs/',
          Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
          ExpirationInDays: 365,
          Status: 'Enabled',
        },
        { AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' },
      ]);
    });

    it('keeps events 30 days in DynamoDB by default (RUNPLANE_EVENT_RETENTION_DAYS, the TTL the worker stamps)', () => {
      const fn = s.stack.api.functions.get('getJobLogs')!;
      expect(functionEnvironment(s.template, s.id(fn.function)).RUNPLANE_EVENT_RETENTION_DAYS).toBe('30');
      for (const b of [s.stack.data.artifacts, s.stack.data.logs]) {
        s.template.hasResourceProperties('AWS::S3::BucketPolicy', {
          Bucket: { Ref: s.id(b) },
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        });
      }
    });
  });

  describe('queues', () => {
    it('gives every pool a queue and a DLQ with the shared settings', () => {
      // Each pool's two, and the scheduler's kick queue with its DLQ.
      expect(s.template.findResources('AWS::SQS::Queue')).toSatisfy((q: object) => Object.keys(q).length === 2 * WORKER_POOLS.length + 2);
      for (const pool of WORKER_POOLS) {
        const definition = poolQueueDefinition(pool);
        expect(definition).toEqual(DEFAULT_QUEUES.find((q) => q.pool === pool.name));
        const { queue, deadLetterQueue } = s.stack.queues.pool(pool.name);
        expect(properties(s.template, s.id(queue))).toEqual({
          QueueName: queueName('runplane', pool.name),
          VisibilityTimeout: definition.visibilityTimeoutSeconds,
          MessageRetentionPeriod: definition.messageRetentionSeconds,
          ReceiveMessageWaitTimeSeconds: 20,
          SqsManagedSseEnabled: true,
          RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [s.id(deadLetterQueue), 'Arn'] }, maxReceiveCount: definition.maxReceiveCount },
        });
        expect(properties(s.template, s.id(deadLetterQueue))).toEqual({
          QueueName: deadLetterQueueName('runplane', pool.name),
          MessageRetentionPeriod: 14 * 24 * 3600,
          SqsManagedSseEnabled: true,
        });
        for (const q of [queue, deadLetterQueue]) {
          s.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
            Queues: [{ Ref: s.id(q) }],
            PolicyDocument: { Statement: [Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })] },
          });
        }
      }
    });
  });

  describe('scheduler', () => {
    it('runs passes on every kick (SQS event source, partial batch failures) and every minute, with the runtime environment', () => {
      const { handler, rule } = s.stack.scheduler;
      const { queue, deadLetterQueue } = s.stack.queues.kicks;
      expect(properties(s.template, s.id(queue))).toEqual({
        VisibilityTimeout: 120,
        MessageRetentionPeriod: 3600,
        SqsManagedSseEnabled: true,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [s.id(deadLetterQueue), 'Arn'] }, maxReceiveCount: 5 },
      });
      // Above the function's timeout, as the event source requires.
      expect(properties(s.template, s.id(handler.function))).toMatchObject({ Timeout: 60 });
      s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [s.id(queue), 'Arn'] },
        FunctionName: { Ref: s.id(handler.function) },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: 10,
        ScalingConfig: { MaximumConcurrency: 2 },
      });
      expect(properties(s.template, s.id(rule))).toMatchObject({
        ScheduleExpression: 'rate(1 minute)',
        State: 'ENABLED',
        Targets: [expect.objectContaining({ Arn: { 'Fn::GetAtt': [s.id(handler.function), 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } })],
      });
      const env = functionEnvironment(s.template, s.id(handler.function));
      expect(Object.keys(env).sort()).toEqual([...RUNTIME_VARIABLES].sort());
      expect(env.RUNPLANE_SCHEDULER_QUEUE_URL).toBe(ref(queue));
      // What a worker joining from another machine needs to kick it.
      s.template.hasOutput('SchedulerQueueUrl', { Value: { Ref: s.id(queue) } });
      // Everyone who makes jobs runnable or frees capacity learns where to kick: the routes, the workers, the background functions.
      for (const fn of [s.stack.api.functions.get('submitJob')!, s.stack.reliability.reaper!, s.stack.reliability.deadLetterConsumer!]) {
        expect(functionEnvironment(s.template, s.id(fn.function)).RUNPLANE_SCHEDULER_QUEUE_URL).toBe(ref(queue));
      }
    });
  });

  describe('api', () => {
    it('routes every entry of lambdas/routes.ts, $default included, to its own function', () => {
      const routes = Object.values(s.template.findResources('AWS::ApiGatewayV2::Route'));
      expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(ROUTES.map((r) => r.routeKey).sort());
      expect(s.stack.api.functions.size).toBe(ROUTES.length);
      const integrations = s.template.findResources('AWS::ApiGatewayV2::Integration');
      for (const route of ROUTES) {
        const fn = s.stack.api.functions.get(route.name)!;
        const integration = Object.values(integrations).find((i) => cfnText(i.Properties.IntegrationUri) === arn(fn.function));
        expect(integration, route.routeKey).toBeDefined();
        expect(integration!.Properties).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
      }
    });

    it('runs each handler on Node.js 22, arm64, with exactly the runtime configuration variables', () => {
      for (const route of ROUTES) {
        const fn = s.stack.api.functions.get(route.name)!;
        expect(properties(s.template, s.id(fn.function)), route.name).toMatchObject({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
          LoggingConfig: { LogGroup: { Ref: s.id(fn.logGroup) } },
        });
        const expected = [
          ...RUNTIME_VARIABLES,
          // Only routes that authenticate learn how: healthz and the 404 get no auth settings.
          ...(route.authenticated ? AUTH_VARIABLES : []),
        ];
        expect(Object.keys(functionEnvironment(s.template, s.id(fn.function))).sort(), route.name).toEqual(expected.sort());
      }
    });

    it('hands handlers the queue configuration core/config.ts expects', () => {
      const env = functionEnvironment(s.template, s.id(s.stack.api.functions.get('getJob')!.function));
      const queues = JSON.parse(env.RUNPLANE_QUEUES!) as { pool: string; url: string; deadLetterUrl: string }[];
      expect(queues).toEqual(
        WORKER_POOLS.map((pool) => {
          const d = poolQueueDefinition(pool);
          const q = s.stack.queues.pool(pool.name);
          return {
            pool: pool.name,
            url: ref(q.queue),
            deadLetterUrl: ref(q.deadLetterQueue),
            visibilityTimeoutSeconds: d.visibilityTimeoutSeconds,
            maxReceiveCount: d.maxReceiveCount,
            defaultMaxAttempts: d.defaultMaxAttempts,
            // Submit refuses a job needing more GPUs than the pool's instance type has.
            gpusPerInstance: pool.gpusPerInstance,
          };
        }),
      );
      expect(env).toMatchObject({
        RUNPLANE_JOBS_TABLE: ref(s.stack.data.jobs),
        RUNPLANE_EVENTS_TABLE: ref(s.stack.data.events),
        RUNPLANE_AUDIT_TABLE: ref(s.stack.data.audit),
        RUNPLANE_ARTIFACTS_BUCKET: ref(s.stack.data.artifacts),
      });
    });

    it('throttles each route, writes and key management tighter than reads', () => {
      const stage = s.template.toJSON().Resources[s.id(s.stack.api.stage)] as { Properties: Record<string, unknown>; DependsOn?: string[] };
      expect(DEFAULT_ROUTE_THROTTLE).toEqual({ rateLimit: 100, burstLimit: 200 });
      expect(stage.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 });
      expect(stage.Properties.RouteSettings).toEqual({
        'POST /v1/jobs': { ThrottlingRateLimit: 25, ThrottlingBurstLimit: 50 },
        'POST /v1/jobs/{id}/retry': { ThrottlingRateLimit: 25, ThrottlingBurstLimit: 50 },
        'POST /v1/api-keys': { ThrottlingRateLimit: 2, ThrottlingBurstLimit: 5 },
        'GET /v1/api-keys': { ThrottlingRateLimit: 2, ThrottlingBurstLimit: 5 },
        'POST /v1/api-keys/{id}/revoke': { ThrottlingRateLimit: 2, ThrottlingBurstLimit: 5 },
        'GET /v1/audit/verify': { ThrottlingRateLimit: 1, ThrottlingBurstLimit: 2 },
        'PUT /v1/groups/{group}': { ThrottlingRateLimit: 2, ThrottlingBurstLimit: 5 },
      });
      for (const limit of Object.values(ROUTE_THROTTLES)) {
        expect(limit!.rateLimit).toBeLessThan(DEFAULT_ROUTE_THROTTLE.rateLimit);
        expect(limit!.burstLimit).toBeLessThan(DEFAULT_ROUTE_THROTTLE.burstLimit);
      }
      // CloudFormation refuses RouteSettings naming a route that does not exist yet.
      const routes = s.template.findResources('AWS::ApiGatewayV2::Route');
      for (const key of Object.keys(stage.Properties.RouteSettings as object)) {
        const [routeId] = Object.entries(routes).find(([, r]) => r.Properties.RouteKey === key)!;
        expect(stage.DependsOn, key).toContain(routeId);
      }
    });

    it('logs access as JSON and allows the console origin', () => {
      const stage = properties(s.template, s.id(s.stack.api.stage));
      expect(stage).toMatchObject({
        StageName: '$default',
        AutoDeploy: true,
        AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [s.id(s.stack.api.accessLogs), 'Arn'] } },
      });
      const format = JSON.parse((stage.AccessLogSettings as { Format: string }).Format) as Record<string, string>;
      expect(format).toMatchObject({ requestId: '$context.requestId', routeKey: '$context.routeKey', status: '$context.status' });
      expect(properties(s.template, s.id(s.stack.api.httpApi))).toMatchObject({
        ProtocolType: 'HTTP',
        CorsConfiguration: {
          AllowOrigins: ['https://console.example.com'],
          AllowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'OPTIONS'],
          AllowHeaders: ['authorization', 'content-type', 'idempotency-key'],
          ExposeHeaders: ['location'],
          AllowCredentials: false,
          MaxAge: 3600,
        },
      });
      s.template.hasOutput('ApiUrl', { Value: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['https://']) ]) }) });
    });
  });

  describe('worker pools', () => {
    const pool = (name: string) => s.stack.workers!.pools.find((p) => p.pool.name === name)!;

    it('launches each pool from a launch template with the ECS-optimized AMI, GPU variant for GPU pools', () => {
      for (const p of s.stack.workers!.pools) {
        const lt = properties(s.template, s.id(p.node.findChild('LaunchTemplate'))).LaunchTemplateData as Record<string, unknown>;
        const parameter = s.template.toJSON().Parameters[(lt.ImageId as { Ref: string }).Ref] as { Default: string };
        expect(parameter.Default).toBe(
          p.pool.gpusPerInstance > 0
            ? '/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id'
            : '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id',
        );
        expect(lt).toMatchObject({
          MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
          BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeType: 'gp3', VolumeSize: p.pool.rootVolumeGiB } }],
          NetworkInterfaces: [expect.objectContaining({ AssociatePublicIpAddress: true })],
        });
        const userData = cfnText((lt.UserData as { 'Fn::Base64': unknown })['Fn::Base64']);
        expect(userData).toContain(`ECS_CLUSTER=${ref(s.stack.workers!.cluster)}`);
        expect(userData.includes('ECS_ENABLE_SPOT_INSTANCE_DRAINING=true')).toBe(p.pool.capacity === 'spot');
      }
      expect(s.template.findResources('AWS::AutoScaling::LaunchConfiguration')).toEqual({});
    });

    it('gives job containers a network from which IMDS and the ECS credentials endpoint are dropped', () => {
      for (const p of s.stack.workers!.pools) {
        const lt = properties(s.template, s.id(p.node.findChild('LaunchTemplate'))).LaunchTemplateData as Record<string, unknown>;
        const userData = cfnText((lt.UserData as { 'Fn::Base64': unknown })['Fn::Base64']);
        expect(userData).toContain(`docker network create --driver bridge --subnet ${JOB_NETWORK.subnet} -o com.docker.network.bridge.enable_icc=false ${JOB_NETWORK.name}`);
        for (const dst of ['169.254.169.254', '169.254.170.2']) {
          expect(userData).toContain(`iptables -I DOCKER-USER -s ${JOB_NETWORK.subnet} -d ${dst} -j DROP`);
        }
        expect(userData).toContain('systemctl enable --now --no-block runplane-job-network.service');
      }
    });

    it('buys spot or on-demand capacity per pool and lets ECS manage the instance count', () => {
      for (const p of s.stack.workers!.pools) {
        const asg = properties(s.template, s.id(p.autoScalingGroup));
        expect(asg).toMatchObject({
          MinSize: '0',
          MaxSize: String(p.pool.maxInstances),
          NewInstancesProtectedFromScaleIn: true,
          MixedInstancesPolicy: {
            InstancesDistribution: {
              OnDemandBaseCapacity: 0,
              OnDemandPercentageAboveBaseCapacity: p.pool.capacity === 'spot' ? 0 : 100,
              SpotAllocationStrategy: 'price-capacity-optimized',
            },
            LaunchTemplate: { Overrides: [p.pool.instanceType, ...p.pool.alternativeInstanceTypes].map((t) => ({ InstanceType: t })) },
          },
        });
        expect(asg.DesiredCapacity).toBeUndefined();
        expect(properties(s.template, s.id(p.capacityProvider))).toEqual({
          AutoScalingGroupProvider: {
            AutoScalingGroupArn: { Ref: s.id(p.autoScalingGroup) },
            ManagedDraining: 'ENABLED',
            ManagedScaling: { Status: 'ENABLED', TargetCapacity: 100 },
            ManagedTerminationProtection: 'ENABLED',
          },
        });
      }
      expect(pool('gpu').pool).toMatchObject({ instanceType: 'g5.xlarge', capacity: 'spot' });
    });

    it('defines one worker task per instance with its GPUs, drain window and health check', () => {
      for (const p of s.stack.workers!.pools) {
        const td = properties(s.template, s.id(p.taskDefinition));
        expect(td).toMatchObject({ NetworkMode: 'bridge', RequiresCompatibilities: ['EC2'], TaskRoleArn: { 'Fn::GetAtt': [s.id(p.taskRole), 'Arn'] } });
        const [container] = td.ContainerDefinitions as Record<string, unknown>[];
        expect(container).toMatchObject({
          Essential: true,
          Cpu: p.pool.taskCpuUnits,
          MemoryReservation: p.pool.taskMemoryReservationMiB,
          StopTimeout: 120,
          HealthCheck: { Command: ['CMD', 'node', WORKER_HEALTHCHECK_PATH] },
          LogConfiguration: { LogDriver: 'awslogs' },
        });
        expect(container!.ResourceRequirements).toEqual(p.pool.gpusPerInstance > 0 ? [{ Type: 'GPU', Value: String(p.pool.gpusPerInstance) }] : undefined);
        const env = Object.fromEntries((container!.Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, cfnText(e.Value)]));
        expect(Object.keys(env).sort()).toEqual(
          [...RUNTIME_VARIABLES, 'RUNPLANE_WORKER_QUEUE', 'RUNPLANE_WORKER_CONCURRENCY', 'RUNPLANE_WORKER_IDLE_EXIT_SECONDS', 'RUNPLANE_WORKER_DRAIN_SECONDS', 'RUNPLANE_WORKER_CONTAINER_NETWORK', 'RUNPLANE_WORKER_WORKDIR', 'NODE_OPTIONS', 'RUNPLANE_PRICE_PER_INSTANCE_HOUR', 'RUNPLANE_INSTANCE_GPUS', 'RUNPLANE_INSTANCE_VCPUS'].sort(),
        );
        // Each attempt's cost: the pool's price from the table (core/usage/instance-prices.ts) and the instance's size.
        expect(env).toMatchObject(pricingEnvironment(poolPricing(p.pool)));
        expect(Number(env.RUNPLANE_PRICE_PER_INSTANCE_HOUR)).toBeGreaterThan(0);
        expect(env).toMatchObject({
          // Heap limits sized to the pool's concurrency (core/worker/memory.ts).
          NODE_OPTIONS: workerNodeOptions(p.pool.maxJobsPerTask),
          RUNPLANE_WORKER_QUEUE: p.pool.name,
          RUNPLANE_WORKER_CONCURRENCY: String(p.pool.maxJobsPerTask),
          RUNPLANE_WORKER_IDLE_EXIT_SECONDS: String(p.pool.idleExitSeconds),
          RUNPLANE_WORKER_DRAIN_SECONDS: '100',
          RUNPLANE_WORKER_CONTAINER_NETWORK: p.pool.containerNetwork,
          RUNPLANE_WORKER_WORKDIR: WORKER_HOST_WORKDIR,
        });
        // Container jobs: the host's Docker socket and job directories at the same path, in the worker task only.
        expect(td.Volumes).toEqual(
          expect.arrayContaining([
            { Name: 'docker-socket', Host: { SourcePath: DOCKER_SOCKET } },
            { Name: 'job-work', Host: { SourcePath: WORKER_HOST_WORKDIR } },
          ]),
        );
        expect(container!.MountPoints).toEqual([
          { SourceVolume: 'docker-socket', ContainerPath: DOCKER_SOCKET, ReadOnly: false },
          { SourceVolume: 'job-work', ContainerPath: WORKER_HOST_WORKDIR, ReadOnly: false },
        ]);
        expect(p.pool.containerNetwork).toBe('bridge');
        // A worker is told about its own queue only.
        expect((JSON.parse(env.RUNPLANE_QUEUES!) as { pool: string }[]).map((q) => q.pool)).toEqual([p.pool.name]);
      }
    });

    it('runs each pool as an ECS service on its capacity provider, starting at the minimum', () => {
      for (const p of s.stack.workers!.pools) {
        expect(properties(s.template, s.id(p.service))).toMatchObject({
          Cluster: { Ref: s.id(s.stack.workers!.cluster) },
          DesiredCount: p.pool.minInstances,
          CapacityProviderStrategy: [{ CapacityProvider: { Ref: s.id(p.capacityProvider) }, Weight: 1 }],
          PlacementConstraints: [{ Type: 'distinctInstance' }],
          DeploymentConfiguration: { MinimumHealthyPercent: 0, MaximumPercent: 100, DeploymentCircuitBreaker: { Enable: true, Rollback: true } },
        });
      }
    });

    it('uses a NAT-free VPC with free gateway endpoints and flow logs, and no inbound access', () => {
      s.template.resourceCountIs('AWS::EC2::NatGateway', 0);
      s.template.resourceCountIs('AWS::EC2::VPCEndpoint', 2);
      s.template.resourceCountIs('AWS::EC2::FlowLog', 1);
      const sg = properties(s.template, s.id(s.stack.workers!.securityGroup));
      expect(sg.SecurityGroupIngress).toBeUndefined();
    });

    it('scales pools from the backlog every minute', () => {
      const scaler = s.stack.scaler!;
      expect(properties(s.template, s.id(scaler.rule))).toMatchObject({
        ScheduleExpression: 'rate(1 minute)',
        State: 'ENABLED',
        Targets: [expect.objectContaining({ Arn: { 'Fn::GetAtt': [s.id(scaler.handler.function), 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } })],
      });
      const env = functionEnvironment(s.template, s.id(scaler.handler.function));
      expect(Object.keys(env).sort()).toEqual(['RUNPLANE_JOBS_TABLE', 'RUNPLANE_QUEUES', 'RUNPLANE_SCALING']);
      expect(env.RUNPLANE_JOBS_TABLE).toBe(ref(s.stack.data.jobs));
      expect(JSON.parse(env.RUNPLANE_SCALING!)).toEqual(
        s.stack.workers!.pools.map((p) => ({
          pool: p.pool.name,
          cluster: ref(s.stack.workers!.cluster),
          service: `\${${s.id(p.service)}.Name}`,
          minTasks: p.pool.minInstances,
          maxTasks: p.pool.maxInstances,
          maxJobsPerTask: p.pool.maxJobsPerTask,
          gpusPerTask: p.pool.gpusPerInstance,
        })),
      );
      // Scale-out is off the request path: the submit function neither learns nor may call the scaler.
      expect(functionEnvironment(s.template, s.id(s.stack.api.functions.get('submitJob')!.function)).RUNPLANE_SCALING).toBeUndefined();
    });
  });

  describe('IAM: every statement of every role', () => {
    const jobsIndexes = () => JOBS_TABLE.globalIndexes.map((g) => `${arn(s.stack.data.jobs)}/index/${g.indexName}`);
    const leadingKeys = (...keys: string[]) => ({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': keys } });
    /** Every jobs-table grant as a statement, spelled out (the lists in lib/access.ts are not trusted here). */
    const jobs = {
      get: () => ({ actions: ['dynamodb:GetItem'], resources: [arn(s.stack.data.jobs)] }),
      query: () => ({ actions: ['dynamodb:Query'], resources: jobsIndexes() }),
      batchGet: () => ({ actions: ['dynamodb:BatchGetItem'], resources: [arn(s.stack.data.jobs)] }),
      queryDependents: () => ({ actions: ['dynamodb:Query'], resources: [`${arn(s.stack.data.jobs)}/index/dependents`] }),
      recordDependencyEdges: () => ({ actions: ['dynamodb:BatchWriteItem'], resources: [arn(s.stack.data.jobs)], conditions: leadingKeys('DEP#*') }),
      submitJobs: () => ({ actions: ['dynamodb:PutItem'], resources: [arn(s.stack.data.jobs)], conditions: leadingKeys('JOB#*', 'IDEMPOTENCY#*') }),
      createJobs: () => ({
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [arn(s.stack.data.jobs)],
        conditions: leadingKeys('JOB#*', 'IDEMPOTENCY#*'),
      }),
      updateJobs: () => ({ actions: ['dynamodb:UpdateItem'], resources: [arn(s.stack.data.jobs)], conditions: leadingKeys('JOB#*') }),
      admitJobs: () => ({
        actions: ['dynamodb:UpdateItem'],
        resources: [arn(s.stack.data.jobs)],
        conditions: {
          ...leadingKeys('JOB#*'),
          'ForAllValues:StringEquals': {
            'dynamodb:Attributes': ['pk', 'pendingKey', 'pendingSort', 'dispatchKey', 'admittedAt', 'admittedTo', 'runningKey', 'state', 'attempt', 'cancelRequested', 'priority', 'queue'],
          },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE'] },
        },
      }),
      createApiKeys: () => ({
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [arn(s.stack.data.jobs)],
        conditions: leadingKeys('APIKEY#*', 'APIKEY_INDEX'),
      }),
      revokeApiKeys: () => ({ actions: ['dynamodb:UpdateItem'], resources: [arn(s.stack.data.jobs)], conditions: leadingKeys('APIKEY#*') }),
      registerWorkers: () => ({
        actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
        resources: [arn(s.stack.data.jobs)],
        conditions: leadingKeys('WORKER#*', 'WORKERLIFE#*'),
      }),
      recordUsage: () => ({ actions: ['dynamodb:PutItem'], resources: [arn(s.stack.data.jobs)], conditions: leadingKeys('USAGE#*', 'USAGEDAY#*') }),
      recordArtifacts: () => ({
        actions: ['dynamodb:BatchWriteItem'],
        resources: [arn(s.stack.data.jobs)],
        conditions: leadingKeys('ARTIFACT#*'),
      }),
      materialiseChildren: () => ({
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [arn(s.stack.data.jobs)],
        conditions: leadingKeys('JOB#*'),
      }),
      writeGroups: () => ({ actions: ['dynamodb:UpdateItem'], resources: [arn(s.stack.data.jobs)], conditions: leadingKeys('GROUP#*', 'GROUP_INDEX') }),
      // A pass reads only the lists it decides from.
      queryScheduling: () => ({
        actions: ['dynamodb:Query'],
        resources: ['running', 'pending', 'workersByPool'].map((i) => `${arn(s.stack.data.jobs)}/index/${i}`),
      }),
      passLease: () => ({ actions: ['dynamodb:UpdateItem'], resources: [arn(s.stack.data.jobs)], conditions: leadingKeys('PASSLEASE#*') }),
      postWaitingBoards: () => ({ actions: ['dynamodb:PutItem'], resources: [arn(s.stack.data.jobs)], conditions: leadingKeys('SCHEDULER#*') }),
      queryPending: () => ({ actions: ['dynamodb:Query'], resources: [`${arn(s.stack.data.jobs)}/index/pending`] }),
      postPoolScaling: () => ({ actions: ['dynamodb:PutItem'], resources: [arn(s.stack.data.jobs)], conditions: leadingKeys('SCALING#*') }),
      // A read route may set the follow mark and nothing else on a job.
      markOutputWatched: () => ({
        actions: ['dynamodb:UpdateItem'],
        resources: [arn(s.stack.data.jobs)],
        conditions: { ...leadingKeys('JOB#*'), 'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'outputWatchedUntil', 'state'] } },
      }),
    } satisfies Record<keyof typeof JOBS_GRANTS, () => Statement>;
    const bucket = () => arn(s.stack.data.artifacts);
    const objects = {
      readArchives: () => ({ actions: ['s3:GetObject'], resources: [`${bucket()}/workdirs/*`] }),
      listBucket: () => ({ actions: ['s3:ListBucket'], resources: [bucket()] }),
      writeArchives: () => ({ actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: [`${bucket()}/workdirs/*`] }),
      readArtifacts: () => ({ actions: ['s3:GetObject'], resources: [`${bucket()}/artifacts/*`] }),
      writeArtifacts: () => ({ actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject'], resources: [`${bucket()}/artifacts/*`] }),
      writeLogArchives: () => ({ actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: [`${bucket()}/logs/*`] }),
    } satisfies Record<keyof typeof OBJECT_GRANTS, () => Statement>;
    const events = {
      query: () => ({ actions: ['dynamodb:Query'], resources: [arn(s.stack.data.events)] }),
      append: () => ({ actions: ['dynamodb:BatchWriteItem'], resources: [arn(s.stack.data.events)] }),
    } satisfies Record<keyof typeof EVENTS_GRANTS, () => Statement>;
    const audit = {
      append: () => ({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        resources: [arn(s.stack.data.audit)],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SHARD#*'] } },
      }),
      read: () => ({ actions: ['dynamodb:Query'], resources: [arn(s.stack.data.audit)] }),
      checkpoint: () => ({ actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem'], resources: [arn(s.stack.data.audit)] }),
    } satisfies Record<keyof typeof AUDIT_GRANTS, () => Statement>;
    const tableStatements = (access: RouteAccess): Statement[] => [
      ...(access.jobs ?? []).map((g) => jobs[g]()),
      ...(access.events ? [events[access.events]()] : []),
      ...(access.audit ? [audit[access.audit]()] : []),
      ...(access.objects ?? []).map((g) => objects[g]()),
    ];
    const queueArns = () => WORKER_POOLS.map((p) => arn(s.stack.queues.pool(p.name).queue));
    const kickQueueArn = () => arn(s.stack.queues.kicks.queue);
    const serviceRefs = () => s.stack.workers!.pools.map((p) => ref(p.service));

    it('names the jobs table item kinds the writes are limited to', () => {
      expect(JOBS_TABLE_KEYS).toEqual({
        job: 'JOB#*',
        dependencyEdge: 'DEP#*',
        idempotencyGuard: 'IDEMPOTENCY#*',
        apiKey: 'APIKEY#*',
        apiKeyIndex: 'APIKEY_INDEX',
        worker: 'WORKER#*',
        artifact: 'ARTIFACT#*',
        group: 'GROUP#*',
        groupIndex: 'GROUP_INDEX',
        usage: 'USAGE#*',
        usageByDay: 'USAGEDAY#*',
        workerLifetime: 'WORKERLIFE#*',
        waitingBoard: 'SCHEDULER#*',
        passLease: 'PASSLEASE#*',
        poolScaling: 'SCALING#*',
      });
    });

    it.each(ROUTES.map((r) => [r.name, r] as const))('%s function', (_name, route) => {
      const fn = s.stack.api.functions.get(route.name)!;
      const access = ROUTE_ACCESS[route.name];
      expect(roleStatements(s.template, s.id(fn.role))).toEqual([
        logsStatement(fn.logGroup),
        ...tableStatements(access),
        ...(access.kick ? [{ actions: ['sqs:SendMessage'], resources: [kickQueueArn()] }] : []),
        ...(access.readLogArchive ? [{ actions: ['s3:GetObject'], resources: [`${arn(s.stack.data.artifacts)}/logs/*`] }] : []),
      ]);
      expect(properties(s.template, s.id(fn.role)).ManagedPolicyArns).toBeUndefined();
    });

    it('grants routes only what their code calls: key checks read, mutations write their own items and audit them', () => {
      expect(ROUTE_ACCESS).toEqual({
        healthz: {},
        getOpenApi: {},
        notFound: {},
        // Arrays: the submit materialises the first children, a retry and a cancel list them.
        submitJob: {
          jobs: ['get', 'submitJobs', 'recordDependencyEdges', 'updateJobs', 'queryDependents', 'materialiseChildren'],
          audit: 'append',
          kick: true,
          objects: ['readArchives', 'listBucket'],
        },
        retryJob: { jobs: ['get', 'createJobs', 'query', 'batchGet'], audit: 'append', kick: true },
        cancelJob: { jobs: ['get', 'updateJobs', 'queryDependents', 'query', 'batchGet'], audit: 'append', kick: true },
        getJob: { jobs: ['get', 'query', 'batchGet'] },
        listJobs: { jobs: ['get', 'query', 'batchGet'] },
        listJobChildren: { jobs: ['get', 'query', 'batchGet'] },
        listJobEvents: { jobs: ['get', 'markOutputWatched'], events: 'query', readLogArchive: true },
        getJobLogs: { jobs: ['get', 'markOutputWatched'], events: 'query', readLogArchive: true },
        listWorkers: { jobs: ['get', 'query'] },
        listGroups: { jobs: ['get', 'batchGet'] },
        getGroup: { jobs: ['get', 'batchGet'] },
        updateGroup: { jobs: ['get', 'writeGroups'], audit: 'append' },
        updateJob: { jobs: ['get', 'query', 'batchGet', 'updateJobs'], audit: 'append', kick: true },
        getUsage: { jobs: ['get', 'query'] },
        createApiKey: { jobs: ['get', 'createApiKeys'], audit: 'append' },
        revokeApiKey: { jobs: ['get', 'revokeApiKeys'], audit: 'append' },
        listApiKeys: { jobs: ['get', 'batchGet'] },
        listAudit: { jobs: ['get'], audit: 'read' },
        verifyAudit: { jobs: ['get'], audit: 'read' },
        // Work in and out: archives only under workdirs/, artifact bytes only under artifacts/.
        createUpload: { jobs: ['get'], objects: ['readArchives', 'listBucket', 'writeArchives'] },
        completeUpload: { jobs: ['get'], objects: ['writeArchives'] },
        listArtifacts: { jobs: ['get', 'query'] },
        getArtifact: { jobs: ['get'], objects: ['readArtifacts'] },
      });
      // Every route that authenticates can read its caller's key; the open ones read nothing.
      for (const route of ROUTES) expect(ROUTE_ACCESS[route.name].jobs?.includes('get') ?? false, route.name).toBe(route.authenticated);
      // No code sends a ConditionCheck, and nothing deletes but a worker its own registry item.
      const all = [...Object.values(JOBS_GRANTS), ...Object.values(EVENTS_GRANTS), ...Object.values(AUDIT_GRANTS)];
      expect(all.flatMap((g) => g.actions)).not.toContain('dynamodb:ConditionCheckItem');
      expect(all.filter((g) => (g.actions as readonly string[]).includes('dynamodb:DeleteItem'))).toEqual([JOBS_GRANTS.registerWorkers]);
      // Every jobs-table write is limited by partition key.
      for (const g of Object.values(JOBS_GRANTS)) {
        const writes = (g.actions as readonly string[]).some((a) => /PutItem|UpdateItem|DeleteItem|BatchWriteItem/.test(a));
        expect('keys' in g, g.actions.join()).toBe(writes);
      }
    });

    it('deploys the background handlers of the reliability and audit issues', () => {
      expect(presentReliabilityEntries()).toEqual(RELIABILITY_ENTRIES);
      expect(s.stack.reliability.deadLetterConsumer).toBeDefined();
      expect(s.stack.reliability.reaper).toBeDefined();
      expect(s.stack.reliability.auditCheckpoint).toBeDefined();
    });

    it('dead-letter consumer, maintenance and audit checkpoint functions', () => {
      const { deadLetterConsumer, reaper, auditCheckpoint } = s.stack.reliability;
      expect(roleStatements(s.template, s.id(deadLetterConsumer!.role))).toEqual([
        logsStatement(deadLetterConsumer!.logGroup),
        jobs.get(),
        jobs.updateJobs(),
        jobs.writeGroups(),
        jobs.queryDependents(),
        audit.append(),
        // A lost worker's attempt that may retry goes back through admission: a kick, no job message.
        { actions: ['sqs:SendMessage'], resources: [kickQueueArn()] },
        // Granted by each SQS event source, on its own DLQ.
        ...s.stack.queues.pools.map((p) => ({
          actions: ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueUrl', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
          resources: [arn(p.deadLetterQueue)],
        })),
      ]);
      expect(roleStatements(s.template, s.id(reaper!.role))).toEqual([
        logsStatement(reaper!.logGroup),
        jobs.get(),
        jobs.query(),
        jobs.batchGet(),
        jobs.updateJobs(),
        jobs.materialiseChildren(),
        jobs.writeGroups(),
        jobs.recordUsage(),
        audit.append(),
        { actions: ['sqs:SendMessage'], resources: [kickQueueArn()] },
      ]);
      expect(roleStatements(s.template, s.id(auditCheckpoint!.role))).toEqual([logsStatement(auditCheckpoint!.logGroup), audit.checkpoint()]);
    });

    it('scheduler function', () => {
      const fn = s.stack.scheduler.handler;
      expect(roleStatements(s.template, s.id(fn.role))).toEqual([
        logsStatement(fn.logGroup),
        jobs.get(),
        jobs.queryScheduling(),
        jobs.batchGet(),
        // Admission is a conditional update of the job item's list keys; the state never changes
        // here, and no other attribute may be written or read back.
        jobs.admitJobs(),
        jobs.passLease(),
        jobs.postWaitingBoards(),
        // Admitted jobs' messages, and its own delayed kicks (a retry's backoff end).
        { actions: ['sqs:SendMessage'], resources: [...queueArns(), kickQueueArn()] },
        // Granted by the SQS event source, on the kick queue.
        {
          actions: ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueUrl', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
          resources: [kickQueueArn()],
        },
      ]);
      expect(properties(s.template, s.id(fn.role)).ManagedPolicyArns).toBeUndefined();
    });

    it('scaler function', () => {
      const fn = s.stack.scaler!.handler;
      expect(roleStatements(s.template, s.id(fn.role))).toEqual([
        logsStatement(fn.logGroup),
        { actions: ['sqs:GetQueueAttributes'], resources: queueArns() },
        { actions: ['ecs:DescribeServices', 'ecs:UpdateService'], resources: serviceRefs() },
        // Pending jobs are demand (the `pending` GSI only) unless their group's quota holds them
        // back (the group items, BatchGetItem); its decisions are posted for waiting reasons.
        jobs.queryPending(),
        jobs.batchGet(),
        jobs.postPoolScaling(),
      ]);
    });

    it('auth bootstrap function and its custom resource provider', () => {
      const { bootstrapFunction: fn, providerRole, providerLogGroup, adminKeySecret, signingKeySecret } = s.stack.auth;
      expect(roleStatements(s.template, s.id(fn.role))).toEqual([
        logsStatement(fn.logGroup),
        jobs.createApiKeys(),
        audit.append(),
        { actions: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'], resources: [ref(adminKeySecret), ref(signingKeySecret)] },
      ]);
      expect(roleStatements(s.template, s.id(providerRole))).toEqual([
        logsStatement(providerLogGroup),
        { actions: ['lambda:InvokeFunction'], resources: [arn(fn.function), `${arn(fn.function)}:*`] },
        { actions: ['lambda:GetFunction'], resources: [arn(fn.function)] },
      ]);
      for (const role of [fn.role, providerRole]) expect(properties(s.template, s.id(role)).ManagedPolicyArns).toBeUndefined();
    });

    it.each(WORKER_POOLS.map((p) => [p.name]))('%s pool task role', (name) => {
      const p = s.stack.workers!.pools.find((w) => w.pool.name === name)!;
      expect(roleStatements(s.template, s.id(p.taskRole))).toEqual([
        {
          actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 'sqs:SendMessage'],
          resources: [arn(p.queue.queue)],
        },
        // It asks for a pass when it joins and whenever an attempt ends.
        { actions: ['sqs:SendMessage'], resources: [kickQueueArn()] },
        jobs.get(),
        // Transitions of job items only: a job process that reaches these credentials cannot write an API key.
        jobs.updateJobs(),
        // An ended array child's worker materialises the array's next children.
        jobs.materialiseChildren(),
        jobs.writeGroups(),
        jobs.queryDependents(),
        jobs.registerWorkers(),
        // Usage records (USAGE#, USAGEDAY# items) in the transaction that ends an attempt.
        jobs.recordUsage(),
        events.append(),
        audit.append(),
        {
          actions: ['ecs:UpdateTaskProtection'],
          resources: [`arn:\${AWS::Partition}:ecs:\${AWS::Region}:\${AWS::AccountId}:task/${ref(s.stack.workers!.cluster)}/*`],
        },
        // Artifact records only (ARTIFACT# items), archives read, artifacts written: nothing else of the bucket.
        jobs.recordArtifacts(),
        objects.readArchives(),
        objects.writeArtifacts(),
        // Each ended attempt's output archive: written, never read, by the worker.
        objects.writeLogArchives(),
      ]);
      expect(properties(s.template, s.id(p.taskRole))).toMatchObject({
        AssumeRolePolicyDocument: { Statement: [expect.objectContaining({ Principal: { Service: 'ecs-tasks.amazonaws.com' } })] },
      });
      expect(properties(s.template, s.id(p.taskRole)).ManagedPolicyArns).toBeUndefined();
    });

    it.each(WORKER_POOLS.map((p) => [p.name]))('%s pool execution and instance roles', (name) => {
      const p = s.stack.workers!.pools.find((w) => w.pool.name === name)!;
      const execution = roleStatements(s.template, s.id(p.taskDefinition.executionRole!));
      expect(execution).toEqual([
        { actions: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'], resources: [expect.stringContaining(':repository/')] },
        { actions: ['ecr:GetAuthorizationToken'], resources: ['*'] },
        logsStatement(p.logGroup),
      ]);
      const cluster = `\${${s.id(s.stack.workers!.cluster)}.Arn}`;
      expect(roleStatements(s.template, s.id(p.instanceRole))).toEqual([
        { actions: ['ecs:DeregisterContainerInstance', 'ecs:RegisterContainerInstance', 'ecs:Submit*'], resources: [cluster] },
        { actions: ['ecs:Poll', 'ecs:StartTelemetrySession'], resources: ['*'], conditions: { ArnEquals: { 'ecs:cluster': { 'Fn::GetAtt': [s.id(s.stack.workers!.cluster), 'Arn'] } } } },
        { actions: ['ecs:DiscoverPollEndpoint', 'ecr:GetAuthorizationToken', 'logs:CreateLogStream', 'logs:PutLogEvents'], resources: ['*'] },
      ]);
    });

    it('has no role the tests above do not cover', () => {
      const covered = new Set([
        ...[...s.stack.api.functions.values()].map((f) => s.id(f.role)),
        s.id(s.stack.scaler!.handler.role),
        s.id(s.stack.scheduler.handler.role),
        s.id(s.stack.reliability.deadLetterConsumer!.role),
        s.id(s.stack.reliability.reaper!.role),
        s.id(s.stack.reliability.auditCheckpoint!.role),
        s.id(s.stack.auth.bootstrapFunction.role),
        s.id(s.stack.auth.providerRole),
        ...s.stack.workers!.pools.flatMap((p) => [s.id(p.taskRole), s.id(p.taskDefinition.executionRole!), s.id(p.instanceRole)]),
        // CDK's BucketDeployment handler, checked in test/cdk/console.test.ts.
        s.id(s.stack.console!.deploymentHandlerRole),
      ]);
      expect(Object.keys(s.template.findResources('AWS::IAM::Role')).sort()).toEqual([...covered].sort());
    });
  });

  describe('authentication', () => {
    it('creates both secrets empty, under the stack prefix, retained with protected data', () => {
      for (const [secret, name] of [
        [s.stack.auth.adminKeySecret, 'runplane/admin-key'],
        [s.stack.auth.signingKeySecret, 'runplane/signing-key'],
      ] as const) {
        const resource = s.template.toJSON().Resources[s.id(secret)] as { Properties: Record<string, unknown>; DeletionPolicy: string };
        // No value and no generated password: the bootstrap's first read must find nothing.
        expect(Object.keys(resource.Properties).sort()).toEqual(['Description', 'Name']);
        expect(resource.Properties.Name).toBe(name);
        expect(resource.DeletionPolicy).toBe('Retain');
      }
      s.template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    });

    it('runs the bootstrap custom resource on every deploy, through the provider, with references only', () => {
      const { bootstrap, bootstrapFunction, provider, adminKeySecret, signingKeySecret } = s.stack.auth;
      const resource = s.template.toJSON().Resources[s.id(bootstrap)] as { Type: string; Properties: Record<string, unknown>; DependsOn: string[] };
      expect(resource.Type).toBe('Custom::RunplaneAuthBootstrap');
      expect(resource.Properties).toEqual({
        ServiceToken: { 'Fn::GetAtt': [s.id(provider.node.findChild('framework-onEvent')), 'Arn'] },
        JobsTable: { Ref: s.id(s.stack.data.jobs) },
        AuditTable: { Ref: s.id(s.stack.data.audit) },
        AdminKeySecretId: { Ref: s.id(adminKeySecret) },
        SigningKeySecretId: { Ref: s.id(signingKeySecret) },
        JwtIssuer: 'runplane',
        JwtAudience: 'runplane-api',
        DeployNonce: '2026-01-01T00:00:00.000Z',
      });
      // Its handler can write before CloudFormation calls it.
      const policy = s.id(bootstrapFunction.role.node.findChild('DefaultPolicy'));
      expect(resource.DependsOn).toEqual(expect.arrayContaining([s.id(bootstrapFunction.role), policy]));
      expect(properties(s.template, s.id(bootstrapFunction.function))).toMatchObject({ Runtime: 'nodejs22.x', Handler: 'index.handler', Timeout: 120 });
      // Nothing but the deploy calls it: no schedule, no environment.
      expect(properties(s.template, s.id(bootstrapFunction.function)).Environment).toBeUndefined();
    });

    it('hands the authenticating functions the public key, issuer and audience the bootstrap returns', () => {
      const env = functionEnvironment(s.template, s.id(s.stack.api.functions.get('getJob')!.function));
      const attribute = (name: string) => `\${${s.id(s.stack.auth.bootstrap)}.${name}}`;
      expect(env).toMatchObject({
        RUNPLANE_JWT_ISSUER: attribute('JwtIssuer'),
        RUNPLANE_JWT_AUDIENCE: attribute('JwtAudience'),
        RUNPLANE_JWT_PUBLIC_KEYS: attribute('PublicJwks'),
      });
      expect(Object.keys(env).filter((k) => k.startsWith('RUNPLANE_OIDC_'))).toEqual([]);
      // No function learns where the secrets are but the bootstrap (through its resource's properties).
      for (const fn of Object.values(s.template.findResources('AWS::Lambda::Function'))) {
        expect(JSON.stringify(fn.Properties.Environment ?? {})).not.toContain('Secret');
      }
    });

    it('outputs where the first admin key and the signing key are', () => {
      s.template.hasOutput('AdminKeySecretName', { Value: 'runplane/admin-key', Description: Match.stringLikeRegexp('get-secret-value') });
      s.template.hasOutput('AdminKeySecretArn', { Value: { Ref: s.id(s.stack.auth.adminKeySecret) } });
      s.template.hasOutput('AdminKeyId', { Value: { 'Fn::GetAtt': [s.id(s.stack.auth.bootstrap), 'AdminKeyId'] } });
      s.template.hasOutput('SigningKeySecretName', { Value: 'runplane/signing-key' });
      s.template.hasOutput('SigningKeySecretArn', { Value: { Ref: s.id(s.stack.auth.signingKeySecret) } });
    });
  });

  describe('dashboard', () => {
    it('graphs every EMF metric the handlers and workers write, in their namespace and service', () => {
      const dashboards = s.template.findResources('AWS::CloudWatch::Dashboard');
      expect(Object.keys(dashboards)).toHaveLength(1);
      const body = JSON.parse(cfnText(properties(s.template, s.id(s.stack.dashboard.dashboard)).DashboardBody as never)) as {
        widgets: { properties: { title: string; metrics: unknown[][] } }[];
      };
      const metrics = body.widgets.flatMap((w) => w.properties.metrics);
      const graphed = (name: string, service: string, extra: string[] = []) =>
        metrics.some((m) => m[0] === METRICS_NAMESPACE && m[1] === name && m.includes('service') && m.includes(service) && extra.every((e) => m.includes(e)));
      expect(graphed(METRIC.jobsSubmitted, METRICS_SERVICE.api)).toBe(true);
      for (const state of FINISHED_STATES) expect(graphed(METRIC.jobsFinished, METRICS_SERVICE.worker, ['state', state]), state).toBe(true);
      for (const name of [METRIC.dispatchLatency, METRIC.queueWait, METRIC.outputBytes]) expect(graphed(name, METRICS_SERVICE.worker), name).toBe(true);
      for (const name of [METRIC.api4xx, METRIC.api5xx, METRIC.apiLatency, METRIC.auditAppendLatency]) expect(graphed(name, METRICS_SERVICE.api), name).toBe(true);
      // Every metric of the name table is on it.
      const names = new Set(metrics.map((m) => m[1]));
      expect([...names].sort()).toEqual(Object.values(METRIC).sort());
    });
  });

  describe('audit checkpoint', () => {
    it('runs every five minutes', () => {
      expect(properties(s.template, s.id(s.stack.reliability.checkpointRule!))).toMatchObject({
        ScheduleExpression: 'rate(5 minutes)',
        State: 'ENABLED',
        Targets: [
          expect.objectContaining({
            Arn: { 'Fn::GetAtt': [s.id(s.stack.reliability.auditCheckpoint!.function), 'Arn'] },
            RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300 },
          }),
        ],
      });
      expect(properties(s.template, s.id(s.stack.reliability.auditCheckpoint!.function))).toMatchObject({ MemorySize: 256, Timeout: 60 });
    });
  });

  describe('alarms', () => {
    it('alarms on every DLQ, every function error and API 5xx, notifying the alarm topic', () => {
      const alarms = Object.values(s.template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
      const topic = { Ref: s.id(s.stack.alarms.topic) };
      // Pool DLQs, the kick DLQ, every function (routes, scheduler, scaler, dead-letter consumer, maintenance, audit checkpoint), API 5xx.
      // Not the auth bootstrap: it runs only inside a deploy, which fails when it does.
      expect(alarms).toHaveLength(WORKER_POOLS.length + 1 + ROUTES.length + 5 + 1);
      for (const a of alarms) expect(a).toMatchObject({ AlarmActions: [topic], OKActions: [topic], TreatMissingData: 'notBreaching' });
      for (const pool of WORKER_POOLS) {
        expect(alarms).toContainEqual(
          expect.objectContaining({
            MetricName: 'ApproximateNumberOfMessagesVisible',
            Namespace: 'AWS/SQS',
            Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [s.id(s.stack.queues.pool(pool.name).deadLetterQueue), 'QueueName'] } }],
            Threshold: 1,
          }),
        );
      }
      // Kicks whose passes failed five times: the scheduler keeps failing (the schedule still covers their pools).
      expect(alarms).toContainEqual(
        expect.objectContaining({
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Namespace: 'AWS/SQS',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [s.id(s.stack.queues.kicks.deadLetterQueue), 'QueueName'] } }],
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          EvaluationPeriods: 1,
        }),
      );
      const { deadLetterConsumer, reaper, auditCheckpoint } = s.stack.reliability;
      for (const fn of [...s.stack.api.functions.values(), s.stack.scheduler.handler, s.stack.scaler!.handler, deadLetterConsumer!, reaper!, auditCheckpoint!]) {
        expect(alarms).toContainEqual(
          expect.objectContaining({ MetricName: 'Errors', Namespace: 'AWS/Lambda', Dimensions: [{ Name: 'FunctionName', Value: { Ref: s.id(fn.function) } }] }),
        );
      }
      expect(alarms).toContainEqual(expect.objectContaining({ MetricName: '5xx', Namespace: 'AWS/ApiGateway' }));
    });
  });

  describe('cdk-nag (AwsSolutions)', () => {
    it('reports no unacknowledged finding', () => {
      const report = new AwsSolutionsChecks(s.app).validateScope(s.stack);
      expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`)).toEqual([]);
      expect(report.success).toBe(true);
    });

    it('leaves no AwsSolutions errors or warnings, and no CDK warnings, in the annotations', () => {
      const annotations = Annotations.fromStack(s.stack);
      expect(annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
      expect(annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
      expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
    });

    it('justifies every acknowledgement in a sentence', () => {
      const acknowledged = s.stack.node
        .findAll()
        .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
        .flatMap((m) => Object.entries(m.data as Record<string, string>))
        // CDK records rule ids without a known prefix under "Annotation::".
        .map(([id, reason]) => [id.replace(/^Annotation::/, ''), reason] as const)
        .filter(([id]) => id.startsWith('AwsSolutions-'));
      expect(new Set(acknowledged.map(([id]) => id.replace(/\[.*$/, '')))).toEqual(
        new Set([
          'AwsSolutions-S1',
          'AwsSolutions-APIG4',
          'AwsSolutions-L1',
          'AwsSolutions-SNS2',
          'AwsSolutions-ECS4',
          'AwsSolutions-EC26',
          'AwsSolutions-IAM5',
          'AwsSolutions-ECS2',
          'AwsSolutions-SMG4',
          // The console's distribution and CDK's BucketDeployment handler (lib/console.ts).
          'AwsSolutions-CFR1',
          'AwsSolutions-CFR2',
          'AwsSolutions-CFR3',
          'AwsSolutions-CFR4',
          'AwsSolutions-IAM4',
        ]),
      );
      for (const [id, reason] of acknowledged) expect(reason.length, id).toBeGreaterThan(60);
    });
  });
});

describe('RunplaneStack (LocalStack: no worker pools, no data protection)', () => {
  let s: SynthesizedStack;
  beforeAll(() => {
    s = synthesize({ deployWorkers: false, protectData: false }, 'rp-local');
  });

  it('deploys API, data and queues without ECS, EC2 or a scaler; submit only enqueues', () => {
    for (const type of ['AWS::ECS::Cluster', 'AWS::ECS::Service', 'AWS::AutoScaling::AutoScalingGroup', 'AWS::EC2::VPC']) {
      s.template.resourceCountIs(type, 0);
    }
    const submit = s.stack.api.functions.get('submitJob')!;
    expect(functionEnvironment(s.template, s.id(submit.function)).RUNPLANE_SCALING).toBeUndefined();
    expect(roleStatements(s.template, s.id(submit.role)).flatMap((st) => st.actions)).not.toContain('ecs:UpdateService');
  });

  it('names resources after the stack and drops deletion protection when told to', () => {
    s.template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'rp-local-gpu-dlq' });
    for (const table of Object.values(s.template.findResources('AWS::DynamoDB::GlobalTable'))) {
      expect(table.DeletionPolicy).toBe('Delete');
      expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(false);
    }
  });

  it('still consumes every DLQ, runs maintenance every minute and checkpoints the audit chain', () => {
    const { deadLetterConsumer, reaper, auditCheckpoint } = s.stack.reliability;
    for (const { deadLetterQueue } of s.stack.queues.pools) {
      s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [s.id(deadLetterQueue), 'Arn'] },
        FunctionName: { Ref: s.id(deadLetterConsumer!.function) },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: 10,
      });
    }
    s.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [s.id(reaper!.function), 'Arn'] } })],
    });
    s.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [s.id(auditCheckpoint!.function), 'Arn'] } })],
    });
    // The scheduler runs too: workers on other machines (`runplane worker`) are admitted jobs by it.
    s.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [s.id(s.stack.scheduler.handler.function), 'Arn'] } })],
    });
    s.template.resourceCountIs('AWS::Events::Rule', 3); // no scaler schedule without workers
  });

  it('lets the secrets go with the stack when data is not protected', () => {
    for (const secret of [s.stack.auth.adminKeySecret, s.stack.auth.signingKeySecret]) {
      const resource = s.template.toJSON().Resources[s.id(secret)] as { Properties: { Name: string }; DeletionPolicy: string };
      expect(resource.DeletionPolicy).toBe('Delete');
      expect(resource.Properties.Name).toMatch(/^rp-local\/(admin|signing)-key$/);
    }
  });

  it('passes cdk-nag as well', () => {
    expect(new AwsSolutionsChecks(s.app).validateScope(s.stack).violations).toEqual([]);
  });
});

describe('RunplaneStack (OIDC issuer)', () => {
  let s: SynthesizedStack;
  beforeAll(() => {
    s = synthesize({ deployWorkers: false, oidc: { ...OIDC, groupsClaim: 'realm_access.roles', roleClaim: 'runplane_role' } }, 'rp-oidc');
  });

  it('tells the authenticating routes, and only those, about the identity provider', () => {
    for (const route of ROUTES) {
      const env = functionEnvironment(s.template, s.id(s.stack.api.functions.get(route.name)!.function));
      const oidc = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('RUNPLANE_OIDC_') || k.endsWith('_CLAIM')));
      expect(oidc, route.name).toEqual(
        route.authenticated
          ? {
              RUNPLANE_OIDC_JWKS_URL: OIDC.jwksUrl,
              RUNPLANE_OIDC_ISSUER: OIDC.issuer,
              RUNPLANE_OIDC_AUDIENCE: OIDC.audience,
              RUNPLANE_GROUPS_CLAIM: 'realm_access.roles',
              RUNPLANE_ROLE_CLAIM: 'runplane_role',
            }
          : {},
      );
    }
    // The deployment's own tokens keep working beside the identity provider's.
    expect(functionEnvironment(s.template, s.id(s.stack.api.functions.get('listJobs')!.function)).RUNPLANE_JWT_PUBLIC_KEYS).toBe(
      `\${${s.id(s.stack.auth.bootstrap)}.PublicJwks}`,
    );
  });
});

describe('worker image context', () => {
  it('admits only what the Dockerfile copies', () => {
    const ignore = readFileSync(new URL('../../worker-image/.dockerignore', import.meta.url), 'utf8');
    expect(ignore.split('\n').filter((l) => l.trim() && !l.startsWith('#'))).toEqual(['*', '!package.json', '!package-lock.json', '!core', '!worker-image']);
  });
});

describe('RunplaneStack (log retention settings)', () => {
  it('sets the events TTL and the log archive lifecycle from the settings', () => {
    const s = synthesize({ deployWorkers: false, deployNonce: 'n', logRetention: { eventRetentionDays: 7, archiveTransitionDays: 60, archiveExpirationDays: 730 } });
    const rules = (properties(s.template, s.id(s.stack.data.artifacts)).LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
    expect(rules.find((r) => r.Id === 'LogArchive')).toEqual({
      Id: 'LogArchive',
      Prefix: 'logs/',
      Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 60 }],
      ExpirationInDays: 730,
      Status: 'Enabled',
    });
    const fn = s.stack.api.functions.get('listJobEvents')!;
    expect(functionEnvironment(s.template, s.id(fn.function)).RUNPLANE_EVENT_RETENTION_DAYS).toBe('7');
  });
});
