import { readFileSync } from 'node:fs';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKER_POOLS, poolQueueDefinition } from '../../core/pools.ts';
import { DEFAULT_QUEUES, JOBS_TABLE, TABLES, deadLetterQueueName, queueName, tableName, type TableDefinition } from '../../core/resources.ts';
import { ROUTES } from '../../lambdas/routes.ts';
import { DEFAULT_ROUTE_THROTTLE, ROUTE_ACCESS, ROUTE_THROTTLES, type RouteAccess } from '../../lib/api.ts';
import { AUDIT_GRANTS, EVENTS_GRANTS, JOBS_GRANTS, JOBS_TABLE_KEYS } from '../../lib/access.ts';
import { RELIABILITY_ENTRIES, presentReliabilityEntries } from '../../lib/runplane-stack.ts';
import { WORKER_HEALTHCHECK_PATH } from '../../lib/worker-pool.ts';
import { cfnText, functionEnvironment, properties, roleStatements, synthesize, type Statement, type SynthesizedStack } from './support/template.ts';

const RUNTIME_VARIABLES = ['RUNPLANE_JOBS_TABLE', 'RUNPLANE_EVENTS_TABLE', 'RUNPLANE_AUDIT_TABLE', 'RUNPLANE_QUEUES', 'RUNPLANE_ARTIFACTS_BUCKET'];
const AUTH_VARIABLES = ['RUNPLANE_JWT_ISSUER', 'RUNPLANE_JWT_AUDIENCE', 'RUNPLANE_JWT_PUBLIC_KEYS'];
const OIDC = { jwksUrl: 'https://idp.example.com/.well-known/jwks.json', issuer: 'https://idp.example.com/', audience: 'runplane' };

describe('RunplaneStack (default deployment)', () => {
  let s: SynthesizedStack;
  beforeAll(() => {
    s = synthesize({ corsOrigins: ['https://console.example.com'], deployNonce: '2026-01-01T00:00:00.000Z' });
  });

  const ref = (construct: Parameters<SynthesizedStack['id']>[0]) => `\${${s.id(construct)}}`;
  const arn = (construct: Parameters<SynthesizedStack['id']>[0]) => `\${${s.id(construct)}.Arn}`;
  const jobsResources = () => [arn(s.stack.data.jobs), ...JOBS_TABLE.globalIndexes.map((g) => `${arn(s.stack.data.jobs)}/index/${g.indexName}`)];
  const logsStatement = (logGroup: Parameters<SynthesizedStack['id']>[0]): Statement => ({
    actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    resources: [arn(logGroup)],
  });

  describe('data', () => {
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
            Projection: { ProjectionType: 'ALL' },
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
      expect((bucket.LifecycleConfiguration as { Rules: unknown[] }).Rules).toEqual([
        { ExpirationInDays: 90, Status: 'Enabled' },
        { AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' },
      ]);
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
      expect(s.template.findResources('AWS::SQS::Queue')).toSatisfy((q: object) => Object.keys(q).length === 2 * WORKER_POOLS.length);
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
          ...(ROUTE_ACCESS[route.name].scaleWorkers ? ['RUNPLANE_SCALING'] : []),
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
          AllowMethods: ['GET', 'POST', 'OPTIONS'],
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
          [...RUNTIME_VARIABLES, 'RUNPLANE_WORKER_QUEUE', 'RUNPLANE_WORKER_CONCURRENCY', 'RUNPLANE_WORKER_IDLE_EXIT_SECONDS', 'RUNPLANE_WORKER_DRAIN_SECONDS'].sort(),
        );
        expect(env).toMatchObject({
          RUNPLANE_WORKER_QUEUE: p.pool.name,
          RUNPLANE_WORKER_CONCURRENCY: String(p.pool.maxJobsPerTask),
          RUNPLANE_WORKER_IDLE_EXIT_SECONDS: String(p.pool.idleExitSeconds),
          RUNPLANE_WORKER_DRAIN_SECONDS: '100',
        });
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
      expect(Object.keys(env).sort()).toEqual(['RUNPLANE_QUEUES', 'RUNPLANE_SCALING']);
      expect(JSON.parse(env.RUNPLANE_SCALING!)).toEqual(
        s.stack.workers!.pools.map((p) => ({
          pool: p.pool.name,
          cluster: ref(s.stack.workers!.cluster),
          service: `\${${s.id(p.service)}.Name}`,
          minTasks: p.pool.minInstances,
          maxTasks: p.pool.maxInstances,
          maxJobsPerTask: p.pool.maxJobsPerTask,
        })),
      );
      // The submit path scales with the same configuration.
      expect(functionEnvironment(s.template, s.id(s.stack.api.functions.get('submitJob')!.function)).RUNPLANE_SCALING).toBe(env.RUNPLANE_SCALING);
    });
  });

  describe('IAM: every statement of every role', () => {
    const tableStatements = (access: RouteAccess): Statement[] => [
      ...(access.jobs ? [{ actions: [...TABLE_ACTIONS[access.jobs]], resources: jobsResources() }] : []),
      ...(access.events ? [{ actions: [...TABLE_ACTIONS[access.events]], resources: [arn(s.stack.data.events)] }] : []),
      ...(access.audit ? [{ actions: [...TABLE_ACTIONS[access.audit]], resources: [arn(s.stack.data.audit)] }] : []),
    ];
    const queueArns = () => WORKER_POOLS.map((p) => arn(s.stack.queues.pool(p.name).queue));
    const serviceRefs = () => s.stack.workers!.pools.map((p) => ref(p.service));

    it.each(ROUTES.map((r) => [r.name, r] as const))('%s function', (_name, route) => {
      const fn = s.stack.api.functions.get(route.name)!;
      const access = ROUTE_ACCESS[route.name];
      expect(roleStatements(s.template, s.id(fn.role))).toEqual([
        logsStatement(fn.logGroup),
        ...tableStatements(access),
        ...(access.enqueue ? [{ actions: ['sqs:SendMessage'], resources: queueArns() }] : []),
        ...(access.scaleWorkers
          ? [
              { actions: ['sqs:GetQueueAttributes'], resources: queueArns() },
              { actions: ['ecs:DescribeServices', 'ecs:UpdateService'], resources: serviceRefs() },
            ]
          : []),
      ]);
      expect(properties(s.template, s.id(fn.role)).ManagedPolicyArns).toBeUndefined();
    });

    it('deploys the reliability handlers of the lead\'s reliability issue', () => {
      expect(presentReliabilityEntries()).toEqual(RELIABILITY_ENTRIES);
      expect(s.stack.reliability.deadLetterConsumer).toBeDefined();
      expect(s.stack.reliability.reaper).toBeDefined();
    });

    it('dead-letter consumer and maintenance functions', () => {
      const { deadLetterConsumer, reaper } = s.stack.reliability;
      const mutations: Statement[] = [
        { actions: [...TABLE_ACTIONS.writeJobs], resources: jobsResources() },
        { actions: [...TABLE_ACTIONS.appendEvents], resources: [arn(s.stack.data.events)] },
        { actions: [...TABLE_ACTIONS.appendAudit], resources: [arn(s.stack.data.audit)] },
      ];
      expect(roleStatements(s.template, s.id(deadLetterConsumer!.role))).toEqual([
        logsStatement(deadLetterConsumer!.logGroup),
        ...mutations,
        // Granted by each SQS event source, on its own DLQ.
        ...s.stack.queues.pools.map((p) => ({
          actions: ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueUrl', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
          resources: [arn(p.deadLetterQueue)],
        })),
      ]);
      expect(roleStatements(s.template, s.id(reaper!.role))).toEqual([
        logsStatement(reaper!.logGroup),
        ...mutations,
        { actions: ['sqs:SendMessage'], resources: queueArns() },
      ]);
    });

    it('grants routes only what they need: reads read, mutations write, only submit enqueues', () => {
      expect(ROUTE_ACCESS).toEqual({
        healthz: {},
        notFound: {},
        submitJob: { jobs: 'writeJobs', audit: 'appendAudit', enqueue: true, scaleWorkers: true },
        cancelJob: { jobs: 'writeJobs', audit: 'appendAudit' },
        getJob: { jobs: 'read', events: 'read' },
        listJobs: { jobs: 'read', events: 'read' },
        listJobEvents: { jobs: 'read', events: 'read' },
        getJobLogs: { jobs: 'read', events: 'read' },
        retryJob: { jobs: 'writeJobs', audit: 'appendAudit', enqueue: true, scaleWorkers: true },
        listWorkers: { jobs: 'read' },
      });
      expect(TABLE_ACTIONS.read).toEqual(['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query']);
      // Nothing deletes jobs, events or audit entries (TTL expires them); only workers delete their registry item.
      expect(Object.values(TABLE_ACTIONS).flat()).not.toContain('dynamodb:DeleteItem');
    });

    it('scaler function', () => {
      const fn = s.stack.scaler!.handler;
      expect(roleStatements(s.template, s.id(fn.role))).toEqual([
        logsStatement(fn.logGroup),
        { actions: ['sqs:GetQueueAttributes'], resources: queueArns() },
        { actions: ['ecs:DescribeServices', 'ecs:UpdateService'], resources: serviceRefs() },
      ]);
    });

    it.each(WORKER_POOLS.map((p) => [p.name]))('%s pool task role', (name) => {
      const p = s.stack.workers!.pools.find((w) => w.pool.name === name)!;
      expect(roleStatements(s.template, s.id(p.taskRole))).toEqual([
        {
          actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 'sqs:SendMessage'],
          resources: [arn(p.queue.queue)],
        },
        { actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], resources: jobsResources() },
        {
          actions: ['dynamodb:DeleteItem'],
          resources: [arn(s.stack.data.jobs)],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['WORKER#*'] } },
        },
        { actions: ['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem'], resources: [arn(s.stack.data.events)] },
        { actions: ['dynamodb:PutItem', 'dynamodb:ConditionCheckItem'], resources: [arn(s.stack.data.audit)] },
        {
          actions: ['ecs:UpdateTaskProtection'],
          resources: [`arn:\${AWS::Partition}:ecs:\${AWS::Region}:\${AWS::AccountId}:task/${ref(s.stack.workers!.cluster)}/*`],
        },
        { actions: ['s3:PutObject', 's3:GetObject'], resources: [`${arn(s.stack.data.artifacts)}/*`] },
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
        s.id(s.stack.reliability.deadLetterConsumer!.role),
        s.id(s.stack.reliability.reaper!.role),
        ...s.stack.workers!.pools.flatMap((p) => [s.id(p.taskRole), s.id(p.taskDefinition.executionRole!), s.id(p.instanceRole)]),
      ]);
      expect(Object.keys(s.template.findResources('AWS::IAM::Role')).sort()).toEqual([...covered].sort());
    });
  });

  describe('alarms', () => {
    it('alarms on every DLQ, every function error and API 5xx, notifying the alarm topic', () => {
      const alarms = Object.values(s.template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
      const topic = { Ref: s.id(s.stack.alarms.topic) };
      // DLQs, every function (routes, scaler, dead-letter consumer, maintenance), API 5xx.
      expect(alarms).toHaveLength(WORKER_POOLS.length + ROUTES.length + 3 + 1);
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
      for (const fn of [...s.stack.api.functions.values(), s.stack.scaler!.handler, s.stack.reliability.deadLetterConsumer!, s.stack.reliability.reaper!]) {
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
        new Set(['AwsSolutions-S1', 'AwsSolutions-APIG4', 'AwsSolutions-L1', 'AwsSolutions-SNS2', 'AwsSolutions-ECS4', 'AwsSolutions-EC26', 'AwsSolutions-IAM5', 'AwsSolutions-ECS2']),
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

  it('still consumes every DLQ and runs maintenance every minute', () => {
    const { deadLetterConsumer, reaper } = s.stack.reliability;
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
    s.template.resourceCountIs('AWS::Events::Rule', 1); // no scaler schedule without workers
  });

  it('passes cdk-nag as well', () => {
    expect(new AwsSolutionsChecks(s.app).validateScope(s.stack).violations).toEqual([]);
  });
});

describe('worker image context', () => {
  it('admits only what the Dockerfile copies', () => {
    const ignore = readFileSync(new URL('../../worker-image/.dockerignore', import.meta.url), 'utf8');
    expect(ignore.split('\n').filter((l) => l.trim() && !l.startsWith('#'))).toEqual(['*', '!package.json', '!package-lock.json', '!core', '!worker-image']);
  });
});
