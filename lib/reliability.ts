import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { AUDIT_TABLE, JOBS_TABLE } from '../core/resources.ts';
import { AUDIT_GRANTS, JOBS_GRANTS, grantTable } from './access.ts';
import type { RunplaneData } from './data.ts';
import { HandlerFunction } from './handler-function.ts';
import type { RunplaneQueues } from './queues.ts';

export interface ReliabilityEntries {
  /** Module consuming every pool's DLQ: fails each dead-lettered job with a reason. */
  readonly deadLetterConsumer?: string;
  /** Module run every minute: re-dispatches jobs whose send was lost, recovers jobs whose lease expired. */
  readonly reaper?: string;
  /** Module run every five minutes: checkpoints every audit shard's head into the root chain. */
  readonly auditCheckpoint?: string;
}

export interface RunplaneReliabilityProps {
  readonly entries: ReliabilityEntries;
  readonly data: RunplaneData;
  readonly queues: RunplaneQueues;
  readonly runtimeEnvironment: Record<string, string>;
  readonly reaperSchedule?: Duration;
  readonly checkpointSchedule?: Duration;
}

/**
 * The background functions: the dead-letter consumer and the reaper, which guarantee no job stays
 * QUEUED or RUNNING forever, and the audit checkpoint, which makes deleting the newest audit
 * entries detectable. Each is added only when its handler module exists. Every transition they
 * make is audited in its own transaction, so each may append to the audit chain.
 */
export class RunplaneReliability extends Construct {
  readonly deadLetterConsumer?: HandlerFunction;
  readonly reaper?: HandlerFunction;
  readonly auditCheckpoint?: HandlerFunction;
  readonly reaperRule?: events.Rule;
  readonly checkpointRule?: events.Rule;

  constructor(scope: Construct, id: string, props: RunplaneReliabilityProps) {
    super(scope, id);
    const { data, queues } = props;

    if (props.entries.deadLetterConsumer) {
      const fn = new HandlerFunction(this, 'DeadLetterConsumer', {
        entry: props.entries.deadLetterConsumer,
        description: 'dead-letter consumer',
        environment: props.runtimeEnvironment,
        // Below the DLQs' 30 s visibility timeout, as SQS event sources require.
        timeout: Duration.seconds(20),
      });
      // Reads the job, fails it (an audited update), reads it back (core/maintenance handleDeadLetter).
      grantTable(fn, data.jobs, JOBS_TABLE, JOBS_GRANTS.get);
      grantTable(fn, data.jobs, JOBS_TABLE, JOBS_GRANTS.updateJobs);
      // A RUNNING job that fails gives its group quota back.
      grantTable(fn, data.jobs, JOBS_TABLE, JOBS_GRANTS.writeGroups);
      // A failed job's dependents are settled (released with a send, or failed in turn).
      grantTable(fn, data.jobs, JOBS_TABLE, JOBS_GRANTS.queryDependents);
      grantTable(fn, data.audit, AUDIT_TABLE, AUDIT_GRANTS.append);
      // A lost worker's attempt that may retry is pending again: the scheduler is kicked to admit it.
      fn.allow(['sqs:SendMessage'], [queues.kicks.queue.queueArn]);
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
      // Sweeps query the `undispatched`, `running` and `held` GSIs (and `dependents`); repairs are
      // audited updates of job items (an unclaimed admission goes back to pending, a reaped attempt
      // is requeued or failed) and kicks.
      grantTable(fn, data.jobs, JOBS_TABLE, JOBS_GRANTS.get);
      grantTable(fn, data.jobs, JOBS_TABLE, JOBS_GRANTS.query);
      // The work lists' indexes hold keys only: their jobs are read with BatchGetItem.
      grantTable(fn, data.jobs, JOBS_TABLE, JOBS_GRANTS.batchGet);
      grantTable(fn, data.jobs, JOBS_TABLE, JOBS_GRANTS.updateJobs);
      // A reaped attempt gives its group quota back.
      grantTable(fn, data.jobs, JOBS_TABLE, JOBS_GRANTS.writeGroups);
      // A reaped attempt's usage (wall time to its lease's expiry) is recorded with its end.
      grantTable(fn, data.jobs, JOBS_TABLE, JOBS_GRANTS.recordUsage);
      grantTable(fn, data.audit, AUDIT_TABLE, AUDIT_GRANTS.append);
      // What it makes runnable again (a reaped attempt, an unclaimed admission put back on the
      // pending list) goes through the scheduler: a kick, never a job message of its own.
      fn.allow(['sqs:SendMessage'], [queues.kicks.queue.queueArn]);
      this.reaperRule = new events.Rule(this, 'ReaperSchedule', {
        description: 'Re-dispatch Runplane jobs whose send was lost and recover jobs whose lease expired',
        // Every minute: core/maintenance bounds a lost send's repair at ~90 s on this schedule.
        schedule: events.Schedule.rate(props.reaperSchedule ?? Duration.minutes(1)),
        targets: [new targets.LambdaFunction(fn.function, { retryAttempts: 0 })],
      });
      this.reaper = fn;
    }

    if (props.entries.auditCheckpoint) {
      const fn = new HandlerFunction(this, 'AuditCheckpoint', {
        entry: props.entries.auditCheckpoint,
        description: 'audit chain checkpoint',
        environment: props.runtimeEnvironment,
        memorySize: 256,
        // One BatchGetItem of at most 128 heads and one transaction: seconds even when DynamoDB is slow.
        timeout: Duration.minutes(1),
      });
      grantTable(fn, data.audit, AUDIT_TABLE, AUDIT_GRANTS.checkpoint);
      this.checkpointRule = new events.Rule(this, 'AuditCheckpointSchedule', {
        description: 'Checkpoint every Runplane audit shard head into the root chain',
        // Deleting a shard's newest entries is detectable once a checkpoint has seen them: five
        // minutes bounds that window; an idle deployment writes nothing (no shard moved).
        schedule: events.Schedule.rate(props.checkpointSchedule ?? Duration.minutes(5)),
        // A missed run is covered by the next one; two concurrent checkpoints are harmless (the
        // root head's condition lets one win).
        targets: [new targets.LambdaFunction(fn.function, { retryAttempts: 0, maxEventAge: Duration.minutes(5) })],
      });
      this.auditCheckpoint = fn;
    }
  }
}
