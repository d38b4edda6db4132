import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { WorkerPool } from '../core/pools.ts';
import { Construct } from 'constructs';
import type { RunplaneData } from './data.ts';
import type { RunplaneQueues } from './queues.ts';
import { WorkerPoolService } from './worker-pool.ts';

export interface RunplaneWorkersProps {
  readonly pools: readonly WorkerPool[];
  readonly queues: RunplaneQueues;
  readonly data: RunplaneData;
  readonly image: ecs.ContainerImage;
  /** core/config.ts variables for one pool's workers: RUNPLANE_QUEUES holds that pool's queue only. */
  readonly runtimeEnvironmentFor: (pool: string) => Record<string, string>;
  /** CloudWatch Container Insights: per-task metrics, billed per metric. Default false. */
  readonly containerInsights?: boolean;
  readonly logRemovalPolicy?: RemovalPolicy;
  /** USD per instance-hour by instance type, over core/usage/instance-prices.ts's table. */
  readonly instancePrices?: Readonly<Record<string, number>>;
}

/**
 * The compute side: a VPC without NAT gateways (public subnets; gateway endpoints keep DynamoDB
 * and S3 traffic inside AWS for free), one ECS cluster, and one WorkerPoolService per pool.
 */
export class RunplaneWorkers extends Construct {
  readonly vpc: ec2.Vpc;
  readonly cluster: ecs.Cluster;
  readonly securityGroup: ec2.SecurityGroup;
  /** Instance launches, terminations and launch failures of every pool; subscribe to watch capacity. */
  readonly scalingEvents: sns.Topic;
  readonly pools: readonly WorkerPoolService[];

  constructor(scope: Construct, id: string, props: RunplaneWorkersProps) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      // Two AZs: an environment-agnostic stack cannot look up more without AWS calls at synth.
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 20 }],
      gatewayEndpoints: {
        DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
      },
      flowLogs: {
        // To S3 (the logs bucket) rather than CloudWatch Logs: cents per GB instead of ingestion prices.
        s3: { destination: ec2.FlowLogDestination.toS3(props.data.logs, 'vpc-flow-logs/'), trafficType: ec2.FlowLogTrafficType.REJECT },
      },
    });
    this.securityGroup = new ec2.SecurityGroup(this, 'WorkerSecurityGroup', {
      vpc: this.vpc,
      description: 'Runplane workers: outbound only (SQS, DynamoDB, S3, ECR, ECS, CloudWatch Logs)',
      allowAllOutbound: true,
    });
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      containerInsightsV2: props.containerInsights ? ecs.ContainerInsights.ENABLED : ecs.ContainerInsights.DISABLED,
    });
    if (!props.containerInsights) {
      Validations.of(this.cluster).acknowledge({
        id: 'AwsSolutions-ECS4',
        reason: 'Container Insights is billed per metric even for small clusters; off by default to keep an idle deployment near zero cost. Enable with -c runplane:containerInsights=true.',
      });
    }
    this.scalingEvents = new sns.Topic(this, 'ScalingEvents', { displayName: 'Runplane worker instance events', enforceSSL: true });
    Validations.of(this.scalingEvents).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason: 'Auto Scaling events carry instance ids and causes, no job data; a customer managed KMS key would add a monthly charge to an idle deployment.',
    });
    this.pools = props.pools.map(
      (pool) =>
        new WorkerPoolService(this, `${pool.name}Pool`, {
          pool,
          queue: props.queues.pool(pool.name),
          kicks: props.queues.kicks,
          data: props.data,
          cluster: this.cluster,
          vpc: this.vpc,
          securityGroup: this.securityGroup,
          image: props.image,
          scalingEvents: this.scalingEvents,
          runtimeEnvironment: props.runtimeEnvironmentFor(pool.name),
          ...(props.logRemovalPolicy ? { logRemovalPolicy: props.logRemovalPolicy } : {}),
          ...(props.instancePrices ? { instancePrices: props.instancePrices } : {}),
        }),
    );
  }
}
