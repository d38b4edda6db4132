import { CfnResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { poolPricing, pricingEnvironment } from '../core/usage/instance-prices.ts';
import type { WorkerPool } from '../core/pools.ts';
import { AUDIT_TABLE, EVENTS_TABLE, JOBS_TABLE } from '../core/resources.ts';
import { AUDIT_GRANTS, EVENTS_GRANTS, JOBS_GRANTS, OBJECT_GRANTS, grantObjects, grantTable, type Grantee } from './access.ts';
import type { RunplaneData } from './data.ts';
import type { KickQueue, PoolQueue } from './queues.ts';
import { workerNodeOptions } from '../core/worker/memory.ts';
import { jobNetworkSetupCommands } from '../core/isolation/job-network.ts';

/** Where the worker image puts its health check (worker-image/Dockerfile copies it there). */
/** The host's Docker Engine socket, mounted into the worker task only. */
export const DOCKER_SOCKET = '/var/run/docker.sock';
/** Where attempts' directories live, on the instance and in the worker at the same path. */
export const WORKER_HOST_WORKDIR = '/var/lib/runplane/work';

export const WORKER_HEALTHCHECK_PATH = '/app/healthcheck.mjs';
/** ECS allows at most 120 s between SIGTERM and SIGKILL. */
const STOP_TIMEOUT = Duration.seconds(120);
/** The worker's drain window: running jobs may finish within it; the rest is kept for handing them back. */
const DRAIN_SECONDS = 100;

export interface WorkerPoolServiceProps {
  readonly pool: WorkerPool;
  readonly queue: PoolQueue;
  /** The scheduler's kick queue: the worker asks for a pass when it joins and when an attempt ends. */
  readonly kicks: KickQueue;
  readonly data: RunplaneData;
  readonly cluster: ecs.Cluster;
  readonly vpc: ec2.IVpc;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly image: ecs.ContainerImage;
  /** Receives the Auto Scaling group's launch and terminate events (and their failures). */
  readonly scalingEvents: sns.ITopic;
  /** core/config.ts variables, with RUNPLANE_QUEUES holding this pool's queue only. */
  readonly runtimeEnvironment: Record<string, string>;
  readonly logRemovalPolicy?: RemovalPolicy;
  /** USD per instance-hour by instance type, over core/usage/instance-prices.ts's table (`runplane:instancePrices`). */
  readonly instancePrices?: Readonly<Record<string, number>>;
}

/**
 * One worker pool: an Auto Scaling group of one instance type (launch template, ECS-optimized
 * AMI, GPU variant for GPU pools) behind an ECS capacity provider, and an ECS service whose tasks
 * each take a whole instance and all its GPUs. The service's desired count is set by the scaler
 * (lib/scaler.ts); the capacity provider launches and retires instances to fit the tasks.
 */
export class WorkerPoolService extends Construct {
  readonly pool: WorkerPool;
  readonly queue: PoolQueue;
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  readonly capacityProvider: ecs.AsgCapacityProvider;
  readonly taskDefinition: ecs.Ec2TaskDefinition;
  readonly container: ecs.ContainerDefinition;
  readonly service: ecs.Ec2Service;
  readonly taskRole: iam.Role;
  readonly instanceRole: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: WorkerPoolServiceProps) {
    super(scope, id);
    const { pool, queue, cluster } = props;
    this.pool = pool;
    this.queue = queue;
    const gpu = pool.gpusPerInstance > 0;

    this.instanceRole = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `Runplane ${pool.name} pool container instances (ECS agent)`,
    });
    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      // Spot interruption notices put the instance in DRAINING, so ECS sends the worker SIGTERM
      // and it hands its jobs back within the two-minute warning.
      ...(pool.capacity === 'spot' ? ['echo ECS_ENABLE_SPOT_INSTANCE_DRAINING=true >> /etc/ecs/ecs.config'] : []),
      // A replacement task on a warm instance starts from the cached image in seconds.
      'echo ECS_IMAGE_PULL_BEHAVIOR=prefer-cached >> /etc/ecs/ecs.config',
      // Job containers (started by the worker through the host's Docker socket) join a network
      // from which IMDS and the ECS credentials endpoint are unreachable (core/isolation/job-network.ts).
      ...jobNetworkSetupCommands(),
    );
    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      machineImage: ecs.EcsOptimizedImage.amazonLinux2023(gpu ? ecs.AmiHardwareType.GPU : ecs.AmiHardwareType.STANDARD),
      userData,
      role: this.instanceRole,
      securityGroup: props.securityGroup,
      // Instances sit in public subnets (no NAT gateway to pay for while idle); nothing may connect in.
      associatePublicIpAddress: true,
      requireImdsv2: true,
      // One hop: the ECS agent (host network) reaches instance metadata, job processes inside
      // bridge-mode containers (one hop further) cannot take the instance role's credentials.
      httpPutResponseHopLimit: 1,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(pool.rootVolumeGiB, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }),
        },
      ],
    });
    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'AutoScalingGroup', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      mixedInstancesPolicy: {
        launchTemplate,
        launchTemplateOverrides: [pool.instanceType, ...pool.alternativeInstanceTypes].map((t) => ({
          instanceType: new ec2.InstanceType(t),
        })),
        instancesDistribution: {
          onDemandBaseCapacity: 0,
          onDemandPercentageAboveBaseCapacity: pool.capacity === 'spot' ? 0 : 100,
          onDemandAllocationStrategy: autoscaling.OnDemandAllocationStrategy.PRIORITIZED,
          spotAllocationStrategy: autoscaling.SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED,
        },
      },
      // The capacity provider owns the instance count; the group only bounds it.
      minCapacity: 0,
      maxCapacity: pool.maxInstances,
      capacityRebalance: pool.capacity === 'spot',
      // Launch errors are how "no spot capacity for g5.xlarge" shows up; subscribers see them at once.
      notifications: [{ topic: props.scalingEvents, scalingEvents: autoscaling.ScalingEvents.ALL }],
    });
    Validations.of(this.autoScalingGroup).acknowledge({
      id: 'AwsSolutions-EC26',
      reason: 'The launch template encrypts the root volume (asserted in test/cdk); the rule cannot follow the launch template of a MixedInstancesPolicy and reports an error instead of a result.',
    });
    this.capacityProvider = new ecs.AsgCapacityProvider(this, 'CapacityProvider', {
      autoScalingGroup: this.autoScalingGroup,
      machineImageType: ecs.MachineImageType.AMAZON_LINUX_2,
      enableManagedScaling: true,
      // Instances running tasks are protected from ASG scale-in; ECS retires only empty ones.
      enableManagedTerminationProtection: true,
      enableManagedDraining: true,
      targetCapacityPercent: 100,
      spotInstanceDraining: pool.capacity === 'spot',
    });
    cluster.addAsgCapacityProvider(this.capacityProvider);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `Runplane ${pool.name} pool worker`,
    });
    this.grantWorker(props);

    // Bridge mode: tasks share the instance's public address for SQS, DynamoDB and S3, and awsvpc's
    // per-task ENIs (and their per-instance limits) are not needed for one task per instance.
    this.taskDefinition = new ecs.Ec2TaskDefinition(this, 'TaskDefinition', {
      networkMode: ecs.NetworkMode.BRIDGE,
      taskRole: this.taskRole,
    });
    this.container = this.taskDefinition.addContainer('worker', {
      image: props.image,
      essential: true,
      cpu: pool.taskCpuUnits,
      memoryReservationMiB: pool.taskMemoryReservationMiB,
      ...(gpu ? { gpuCount: pool.gpusPerInstance } : {}),
      environment: {
        ...props.runtimeEnvironment,
        RUNPLANE_WORKER_QUEUE: pool.name,
        RUNPLANE_WORKER_CONCURRENCY: String(pool.maxJobsPerTask),
        RUNPLANE_WORKER_IDLE_EXIT_SECONDS: String(pool.idleExitSeconds),
        RUNPLANE_WORKER_DRAIN_SECONDS: String(DRAIN_SECONDS),
        RUNPLANE_WORKER_CONTAINER_NETWORK: pool.containerNetwork,
        // Container jobs bind-mount their directory by host path, so the worker's is the host's.
        RUNPLANE_WORKER_WORKDIR: WORKER_HOST_WORKDIR,
        // Each attempt's cost: the instance's price and the GPUs or vCPUs its share is taken of.
        ...pricingEnvironment(poolPricing(pool, props.instancePrices)),
        // Heap limits sized to the pool's concurrency (core/worker/memory.ts).
        NODE_OPTIONS: workerNodeOptions(pool.maxJobsPerTask),
      },
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'worker', logGroup: this.logGroup }),
      stopTimeout: STOP_TIMEOUT,
      healthCheck: {
        command: ['CMD', 'node', WORKER_HEALTHCHECK_PATH],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60),
      },
    });
    // Container jobs: the worker drives the host's Docker Engine (jobs never get the socket), and
    // attempts' directories live at the same path on the host and in the worker.
    this.taskDefinition.addVolume({ name: 'docker-socket', host: { sourcePath: DOCKER_SOCKET } });
    this.taskDefinition.addVolume({ name: 'job-work', host: { sourcePath: WORKER_HOST_WORKDIR } });
    this.container.addMountPoints(
      { sourceVolume: 'docker-socket', containerPath: DOCKER_SOCKET, readOnly: false },
      { sourceVolume: 'job-work', containerPath: WORKER_HOST_WORKDIR, readOnly: false },
    );
    Validations.of(this.taskDefinition.obtainExecutionRole()).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken has no resource-level permissions; image pulls themselves are limited to the worker image repository.',
    });
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The environment holds resource names and tuning values (tables, queue URLs, concurrency), no secrets; the task role supplies credentials.',
    });

    this.service = new ecs.Ec2Service(this, 'Service', {
      cluster,
      taskDefinition: this.taskDefinition,
      // The scaler owns the count after creation; a deploy resets it to the minimum until the next scaler run.
      desiredCount: pool.minInstances,
      capacityProviderStrategies: [{ capacityProvider: this.capacityProvider.capacityProviderName, weight: 1 }],
      // One worker per instance: a task reserves the instance's GPUs, CPU and memory.
      placementConstraints: [ecs.PlacementConstraint.distinctInstances()],
      // Deployments replace tasks in place (no spare instance to start the new one on first);
      // tasks protected by a running job are replaced when the job ends.
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      circuitBreaker: { enable: true, rollback: true },
      enableECSManagedTags: true,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });

    this.acknowledgeAgentPermissions();
  }

  /**
   * The worker's permissions, each on its own resources: its pool queue; on the jobs table, reads
   * of jobs by id, updates of job items (claim, renew, finish, hand back: every transition but the
   * renewal audited in its own transaction) and its own registry items; output batches on the
   * events table; audit appends; task protection on tasks of its cluster; artifact objects.
   *
   * Job processes run inside the worker's container as the worker's user, so a job can reach these
   * credentials (the ECS credentials endpoint; the worker's environment in /proc). The key
   * conditions keep such a job from writing anything but job and registry items: above all, no
   * API key item with a hash of its choosing.
   */
  private grantWorker(props: WorkerPoolServiceProps): void {
    const { data, queue, cluster, kicks } = props;
    const role: Grantee = {
      allow: (actions, resources, conditions) =>
        this.taskRole.addToPolicy(new iam.PolicyStatement({ actions, resources, ...(conditions ? { conditions } : {}) })),
    };
    role.allow(
      [
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:GetQueueAttributes',
        // Hand-back and retry-with-backoff re-send the job's message to its own queue.
        'sqs:SendMessage',
      ],
      [queue.queue.queueArn],
    );
    // Capacity freed or joined, a job put back or requeued: a pass is asked for (lib/scheduler.ts).
    role.allow(['sqs:SendMessage'], [kicks.queue.queueArn]);
    grantTable(role, data.jobs, JOBS_TABLE, JOBS_GRANTS.get);
    grantTable(role, data.jobs, JOBS_TABLE, JOBS_GRANTS.updateJobs);
    // A group's first claim lists it (core/groups/group-quota-counters.ts acquire).
    grantTable(role, data.jobs, JOBS_TABLE, JOBS_GRANTS.writeGroups);
    // A finished job's dependents are settled by its worker (core/jobs/dependency-release.ts).
    grantTable(role, data.jobs, JOBS_TABLE, JOBS_GRANTS.queryDependents);
    grantTable(role, data.jobs, JOBS_TABLE, JOBS_GRANTS.registerWorkers);
    grantTable(role, data.jobs, JOBS_TABLE, JOBS_GRANTS.recordUsage);
    grantTable(role, data.events, EVENTS_TABLE, EVENTS_GRANTS.append);
    grantTable(role, data.audit, AUDIT_TABLE, AUDIT_GRANTS.append);
    // The agent endpoint (ECS_AGENT_URI/task-protection/v1/state) calls UpdateTaskProtection with
    // the task role. A task's ARN is only known at run time, so the grant names the cluster's tasks.
    role.allow(['ecs:UpdateTaskProtection'], [cluster.arnForTasks('*')]);
    grantTable(role, data.jobs, JOBS_TABLE, JOBS_GRANTS.recordArtifacts);
    // Work directories in (any group's: the worker runs every group's jobs), artifacts out, and
    // nothing else of the bucket.
    grantObjects(role, data.artifacts, OBJECT_GRANTS.readArchives);
    grantObjects(role, data.artifacts, OBJECT_GRANTS.writeArtifacts);
    // Each ended attempt's complete output (core/worker/attempt-log-archive.ts), write only.
    grantObjects(role, data.artifacts, OBJECT_GRANTS.writeLogArchives);

    Validations.of(this.taskRole).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<${Stack.of(this).getLogicalId(cluster.node.defaultChild as CfnResource)}>/*]`,
        reason: 'A worker protects its own task, whose id exists only at run time; the grant is limited to tasks of the Runplane cluster.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(data.artifacts.node.defaultChild as CfnResource)}.Arn>/artifacts/*]`,
        reason: 'Workers write artifacts under keys chosen at run time (artifacts/<job id>/<attempt>/<path>); the grant covers that prefix of the artifacts bucket only.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(data.artifacts.node.defaultChild as CfnResource)}.Arn>/workdirs/*]`,
        reason: 'Workers read the work directory archive of whichever job they run (workdirs/<group>/<sha256>.tar.gz); read only, that prefix only.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(data.artifacts.node.defaultChild as CfnResource)}.Arn>/logs/*]`,
        reason: 'Workers archive each attempt\'s output under logs/<job id>/<attempt>/, known only at run time; write only, that prefix only.',
      },
    );
  }

  /** The ECS agent's own permissions, added by the cluster to the instance role. */
  private acknowledgeAgentPermissions(): void {
    const reason =
      'Permissions the ECS container agent needs (as in AmazonEC2ContainerServiceforEC2Role): polling and log/ECR calls that have no resource-level scoping, with Poll and Submit* conditioned on or limited to the Runplane cluster.';
    for (const finding of ['Resource::*', 'Action::ecs:Submit*']) {
      Validations.of(this.instanceRole).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
    }
  }
}
