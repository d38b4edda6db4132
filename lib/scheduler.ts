import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { JOBS_TABLE } from '../core/resources.ts';
import { JOBS_GRANTS, grantTable } from './access.ts';
import type { RunplaneData } from './data.ts';
import { HandlerFunction } from './handler-function.ts';
import type { RunplaneQueues } from './queues.ts';

export interface RunplaneSchedulerProps {
  readonly data: RunplaneData;
  readonly queues: RunplaneQueues;
  /** The environment of core/config.ts (RUNPLANE_SCHEDULER_QUEUE_URL included). */
  readonly runtimeEnvironment: Record<string, string>;
  /** The safety net's period. EventBridge's minimum is one minute. */
  readonly schedule?: Duration;
}

/**
 * The scheduler (specs/11-scheduling.md decision 12): lambdas/schedule-jobs.ts runs the admission
 * passes of core/scheduling, the code the local platform runs in process.
 *
 * - Triggered by kicks: every submit, retry, released hold, raised priority, attempt end, joining
 *   worker and requeue sends `{"pool"}` to the kick queue, and the SQS event source hands them
 *   over within tens of milliseconds of a send (a long poll returns as soon as a message arrives),
 *   which is what starts a job within a second of capacity freeing on a warm pool.
 * - Safety net: an EventBridge rule runs a pass of every pool every minute (a lost kick, a pass
 *   that failed, a worker that died without its end kick).
 * - No two passes of a pool race: each runs under the pool's lease item (PASSLEASE#<pool>, one
 *   conditional update each to take, mark and free it), and a kick that finds it held makes the
 *   holder run one more pass. Reserved concurrency 1 would serialize all pools on one invocation
 *   and make SQS batches wait out throttling (retried only after the visibility timeout); the
 *   lease serializes per pool and never delays a kick.
 */
export class RunplaneScheduler extends Construct {
  readonly handler: HandlerFunction;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: RunplaneSchedulerProps) {
    super(scope, id);
    const { data, queues } = props;
    this.handler = new HandlerFunction(this, 'Handler', {
      entry: 'lambdas/schedule-jobs.ts',
      description: 'scheduler',
      environment: props.runtimeEnvironment,
      // Below the kick queue's visibility (lib/queues.ts), as SQS event sources require; a pass
      // takes well under a second, the rest is room for a run of passes while kicks keep coming.
      timeout: Duration.minutes(1),
    });
    const fn = this.handler;
    // A pass reads the pool's waiting board, pending heads, RUNNING and admitted jobs (keys-only
    // indexes, read back with BatchGetItem), live workers and the groups' states; it admits (and
    // un-admits an unsent one) with conditional updates of job items' list keys only (no state
    // transition: `admitJobs` names the attributes), takes its pool's lease and posts the board
    // (core/scheduling/scheduler.ts).
    grantTable(fn, data.jobs, JOBS_TABLE, JOBS_GRANTS.get);
    grantTable(fn, data.jobs, JOBS_TABLE, JOBS_GRANTS.queryScheduling);
    grantTable(fn, data.jobs, JOBS_TABLE, JOBS_GRANTS.batchGet);
    grantTable(fn, data.jobs, JOBS_TABLE, JOBS_GRANTS.admitJobs);
    grantTable(fn, data.jobs, JOBS_TABLE, JOBS_GRANTS.passLease);
    grantTable(fn, data.jobs, JOBS_TABLE, JOBS_GRANTS.postWaitingBoards);
    // An admitted job's message on its pool's queue; a delayed kick to itself at a retry's backoff end.
    fn.allow(['sqs:SendMessage'], [...queues.pools.map((p) => p.queue.queueArn), queues.kicks.queue.queueArn]);
    fn.function.addEventSource(
      new SqsEventSource(queues.kicks.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        // Kicks are coalesced by the lease; two concurrent invocations are plenty (SQS's minimum).
        maxConcurrency: 2,
      }),
    );
    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Run a Runplane scheduling pass of every pool (the safety net behind the kicks)',
      schedule: events.Schedule.rate(props.schedule ?? Duration.minutes(1)),
      // A missed run is superseded by the next one a minute later.
      targets: [new targets.LambdaFunction(fn.function, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
    });
  }
}
