import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { HandlerFunction } from './handler-function.ts';
import type { KickQueue, PoolQueue } from './queues.ts';
import type { RunplaneApi } from './api.ts';

export interface RunplaneAlarmsProps {
  readonly queues: readonly PoolQueue[];
  /** The scheduler's kick queue: its DLQ holds kicks whose passes failed 5 times. */
  readonly kicks: KickQueue;
  /** Every Lambda, by a short name used in the alarm's id and description. */
  readonly functions: ReadonlyMap<string, HandlerFunction>;
  readonly api: RunplaneApi;
}

/**
 * Alarms that mean "a person should look": a message in a dead-letter queue (a job SQS gave up
 * on, or a scheduler kick whose passes kept failing), a Lambda error (the handlers map domain errors to responses, so an error is a bug or an
 * outage), and API 5xx responses. All notify one SNS topic; subscribe to it after deploying.
 */
export class RunplaneAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: RunplaneAlarmsProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', { displayName: 'Runplane alarms', enforceSSL: true });
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason: 'Alarm notifications carry alarm names and states, no job data. CloudWatch cannot publish to a topic encrypted with the AWS managed SNS key, and a customer managed key would add a monthly charge to an idle deployment.',
    });
    const notify = new actions.SnsAction(this.topic);
    const add = (alarmId: string, props: cloudwatch.AlarmProps) => {
      const alarm = new cloudwatch.Alarm(this, alarmId, props);
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
      this.alarms.push(alarm);
    };

    const deadLetters = (alarmId: string, alarmDescription: string, deadLetterQueue: sqs.IQueue) =>
      add(alarmId, {
        alarmDescription,
        metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    for (const { definition, deadLetterQueue } of props.queues) {
      deadLetters(`${definition.pool}DeadLetters`, `Jobs of pool "${definition.pool}" reached its dead-letter queue`, deadLetterQueue);
    }
    // A dead kick loses nothing (the scheduled pass covers its pool within a minute), but passes
    // that fail five times in a row are a scheduler that keeps failing: its error alarm says that
    // it failed, this one that kicks, the fast path to a start, are being dropped.
    deadLetters('SchedulerKickDeadLetters', 'Scheduler kicks reached their dead-letter queue: passes keep failing', props.kicks.deadLetterQueue);
    for (const [name, fn] of props.functions) {
      add(`${name}Errors`, {
        alarmDescription: `The ${name} Lambda failed`,
        metric: fn.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    add('Api5xx', {
      alarmDescription: 'The Runplane API answered with 5xx errors',
      metric: props.api.httpApi.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
