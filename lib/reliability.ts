import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { AUDIT_TABLE, EVENTS_TABLE, JOBS_TABLE } from '../core/resources.ts';
import { TABLE_ACTIONS, tableResources } from './access.ts';
import type { RunplaneData } from './data.ts';
import { HandlerFunction } from './handler-function.ts';
import type { RunplaneQueues } from './queues.ts';

export interface ReliabilityEntries {
  /** Module consuming every pool's DLQ: fails each dead-lettered job with a reason. */
  readonly deadLetterConsumer?: string;
  /** Module run every minute: re-dispatches jobs whose send was lost, recovers jobs whose lease expired. */
  readonly reaper?: string;
}

export interface RunplaneReliabilityProps {
  readonly entries: ReliabilityEntries;
  readonly data: RunplaneData;
  readonly queues: RunplaneQueues;
  readonly runtimeEnvironment: Record<string, string>;
  readonly reaperSchedule?: Duration;
}

/**
 * The background functions that guarantee no job stays QUEUED or RUNNING forever: the dead-letter
 * consumer and the reaper. Each is added only when its handler module exists.
 */
export class RunplaneReliability extends Construct {
  readonly deadLetterConsumer?: HandlerFunction;
  readonly reaper?: HandlerFunction;

  constructor(scope: Construct, id: string, props: RunplaneReliabilityProps) {
    super(scope, id);
    const { data, queues } = props;
    const grantJobMutations = (fn: HandlerFunction) => {
      fn.allow([...TABLE_ACTIONS.writeJobs], tableResources(data.jobs, JOBS_TABLE));
      fn.allow([...TABLE_ACTIONS.appendEvents], tableResources(data.events, EVENTS_TABLE));
      fn.allow([...TABLE_ACTIONS.appendAudit], tableResources(data.audit, AUDIT_TABLE));
    };

    if (props.entries.deadLetterConsumer) {
      const fn = new HandlerFunction(this, 'DeadLetterConsumer', {
        entry: props.entries.deadLetterConsumer,
        description: 'dead-letter consumer',
        environment: props.runtimeEnvironment,
        // Below the DLQs' 30 s visibility timeout, as SQS event sources require.
        timeout: Duration.seconds(20),
      });
      grantJobMutations(fn);
      // Each event source grants the mapping's own calls (receive, delete, visibility) on its DLQ.
      for (const { deadLetterQueue } of queues.pools) {
        // Partial batch responses: one job that cannot be failed yet stays in the DLQ alone.
        fn.function.addEventSource(new SqsEventSource(deadLetterQueue, { batchSize: 10, reportBatchItemFailures: true }));
      }
      this.deadLetterConsumer = fn;
    }

    if (props.entries.reaper) {
      const fn = new HandlerFunction(this, 'Reaper', {
        entry: props.entries.reaper,
        description: 'dispatch sweeper and lease reaper',
        environment: props.runtimeEnvironment,
        // May outlast the one-minute schedule on a large backlog; overlapping sweeps are safe because
        // every repair is a conditional write.
        timeout: Duration.minutes(2),
      });
      grantJobMutations(fn);
      fn.allow(['sqs:SendMessage'], queues.pools.map((p) => p.queue.queueArn));
      new events.Rule(this, 'ReaperSchedule', {
        description: 'Re-dispatch Runplane jobs whose send was lost and recover jobs whose lease expired',
        // Every minute: core/maintenance bounds a lost send's repair at ~90 s on this schedule.
        schedule: events.Schedule.rate(props.reaperSchedule ?? Duration.minutes(1)),
        targets: [new targets.LambdaFunction(fn.function, { retryAttempts: 0 })],
      });
      this.reaper = fn;
    }
  }
}
