import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { deadLetterQueueName, queueName, type QueueDefinition } from '../core/resources.ts';

/** A DLQ keeps a message 14 days (the SQS maximum): time to notice, inspect and redrive. */
const DEAD_LETTER_RETENTION = Duration.days(14);
/** Receives long-poll by default, so an idle worker makes 3 requests a minute instead of hundreds. */
const RECEIVE_WAIT = Duration.seconds(20);

export interface PoolQueue {
  readonly definition: QueueDefinition;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
}

/** The scheduler's kick queue (specs/11-scheduling.md decision 12) and where kicks that keep failing go. */
export interface KickQueue {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
}

/**
 * A kick older than this is moot: the scheduled pass every minute has covered its pool since.
 * The visibility is above the scheduler function's timeout (SQS event sources require it).
 */
const KICK_RETENTION = Duration.hours(1);
export const KICK_VISIBILITY = Duration.minutes(2);

export interface RunplaneQueuesProps {
  readonly prefix: string;
  readonly definitions: readonly QueueDefinition[];
}

/**
 * One queue and one dead-letter queue per worker pool, from the shared QueueDefinition: the
 * visibility timeout is the worker's lease, and a message received maxReceiveCount times without
 * being deleted moves to the DLQ (where the dead-letter consumer fails its job with a reason).
 */
export class RunplaneQueues extends Construct {
  readonly pools: readonly PoolQueue[];
  readonly kicks: KickQueue;

  constructor(scope: Construct, id: string, props: RunplaneQueuesProps) {
    super(scope, id);
    this.pools = props.definitions.map((definition) => {
      const deadLetterQueue = new sqs.Queue(this, `${definition.pool}DeadLetterQueue`, {
        queueName: deadLetterQueueName(props.prefix, definition.pool),
        retentionPeriod: DEAD_LETTER_RETENTION,
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      const queue = new sqs.Queue(this, `${definition.pool}Queue`, {
        queueName: queueName(props.prefix, definition.pool),
        visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
        retentionPeriod: Duration.seconds(definition.messageRetentionSeconds),
        receiveMessageWaitTime: RECEIVE_WAIT,
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: definition.maxReceiveCount },
        // Messages only point at job items; losing a queue loses no state the sweeper cannot re-enqueue.
        removalPolicy: RemovalPolicy.DESTROY,
      });
      return { definition, queue, deadLetterQueue };
    });
    // Named by CloudFormation: any fixed name could be a pool's (pool names allow hyphens).
    const kickDeadLetters = new sqs.Queue(this, 'SchedulerKickDeadLetterQueue', {
      retentionPeriod: Duration.days(1),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.kicks = {
      deadLetterQueue: kickDeadLetters,
      queue: new sqs.Queue(this, 'SchedulerKickQueue', {
        visibilityTimeout: KICK_VISIBILITY,
        retentionPeriod: KICK_RETENTION,
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        // A kick whose passes keep failing stops being retried; the scheduled pass still runs.
        deadLetterQueue: { queue: kickDeadLetters, maxReceiveCount: 5 },
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    };
  }

  pool(name: string): PoolQueue {
    const found = this.pools.find((p) => p.definition.pool === name);
    if (!found) throw new Error(`no queue for pool "${name}"`);
    return found;
  }
}
