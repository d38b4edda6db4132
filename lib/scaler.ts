import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { JOBS_TABLE } from '../core/resources.ts';
import { JOBS_GRANTS, grantTable } from './access.ts';
import type { RunplaneData } from './data.ts';
import type { ScalingPool } from '../core/scaling/config.ts';
import { HandlerFunction } from './handler-function.ts';
import type { WorkerPoolService } from './worker-pool.ts';

export interface WorkerScalerProps {
  readonly pools: readonly WorkerPoolService[];
  /** RUNPLANE_QUEUES, as the handlers get it: the scaler finds each pool's queue URL there. */
  readonly queuesEnvironment: string;
  /** The jobs table: each pool's pending jobs are demand, and each decision is posted there. */
  readonly data: RunplaneData;
  /** How often the scheduled run scales every pool. EventBridge's minimum is one minute. */
  readonly schedule?: Duration;
}

/**
 * The scheduled scaler: an EventBridge rule runs lambdas/scale-workers.ts every minute, which sets
 * each pool's desired task count from its queue backlog and its pending jobs (the scheduler admits
 * jobs, and sends their messages, only onto live workers: a pool at zero has only pending jobs). It is the only scaler: scale-out is off
 * the submit path (a submit is one transaction and one SendMessage), so a pool at zero starts
 * within about a minute of its first message and stops within a minute of its queue draining.
 * Its function alone holds sqs:GetQueueAttributes on the pool queues and DescribeServices /
 * UpdateService on exactly the pool services; on the jobs table it queries the `pending` GSI and
 * writes its own SCALING# items, nothing else.
 */
export class WorkerScaler extends Construct {
  readonly environment: Record<string, string>;
  readonly handler: HandlerFunction;
  readonly rule: events.Rule;
  private readonly pools: readonly WorkerPoolService[];
  private readonly data: RunplaneData;

  constructor(scope: Construct, id: string, props: WorkerScalerProps) {
    super(scope, id);
    this.pools = props.pools;
    this.data = props.data;
    const scaling: ScalingPool[] = props.pools.map((p) => ({
      pool: p.pool.name,
      cluster: p.service.cluster.clusterName,
      service: p.service.serviceName,
      minTasks: p.pool.minInstances,
      maxTasks: p.pool.maxInstances,
      maxJobsPerTask: p.pool.maxJobsPerTask,
      gpusPerTask: p.pool.gpusPerInstance,
    }));
    this.environment = {
      RUNPLANE_QUEUES: props.queuesEnvironment,
      RUNPLANE_SCALING: Stack.of(this).toJsonString(scaling),
      RUNPLANE_JOBS_TABLE: props.data.jobs.tableName,
    };
    this.handler = new HandlerFunction(this, 'Handler', {
      entry: 'lambdas/scale-workers.ts',
      description: 'worker pool scaler',
      environment: this.environment,
      memorySize: 256,
      timeout: Duration.seconds(30),
    });
    this.grantScale(this.handler);
    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Scale Runplane worker pools to their queue backlog',
      schedule: events.Schedule.rate(props.schedule ?? Duration.minutes(1)),
      // A missed run is superseded by the next one a minute later; retrying it would only race it.
      targets: [new targets.LambdaFunction(this.handler.function, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
    });
  }

  private grantScale(fn: HandlerFunction): void {
    fn.allow(['sqs:GetQueueAttributes'], this.pools.map((p) => p.queue.queue.queueArn));
    fn.allow(['ecs:DescribeServices', 'ecs:UpdateService'], this.pools.map((p) => p.service.serviceArn));
    grantTable(fn, this.data.jobs, JOBS_TABLE, JOBS_GRANTS.queryPending);
    // The quotas and holdings of the groups with pending jobs: a job its quota holds back is no demand.
    grantTable(fn, this.data.jobs, JOBS_TABLE, JOBS_GRANTS.batchGet);
    grantTable(fn, this.data.jobs, JOBS_TABLE, JOBS_GRANTS.postPoolScaling);
  }
}
