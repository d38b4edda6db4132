import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { FINISHED_STATES, METRIC, METRICS_NAMESPACE, METRICS_SERVICE } from '../core/observability/metric-names.ts';

export interface RunplaneDashboardProps {
  /** The dashboard's name (the stack's prefix keeps two deployments apart). */
  readonly dashboardName: string;
}

const PERIOD = Duration.minutes(1);

function metric(metricName: string, service: string, statistic: string, dimensions: Record<string, string> = {}, label?: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service, ...dimensions },
    statistic,
    period: PERIOD,
    ...(label ? { label } : {}),
  });
}

/**
 * One CloudWatch dashboard over the EMF metrics the handlers and workers write
 * (core/observability/metric-names.ts): jobs submitted and finished by state, dispatch latency
 * and queue wait, output volume, audit append latency, and the API's 4xx/5xx and latency.
 */
export class RunplaneDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: RunplaneDashboardProps) {
    super(scope, id);
    const api = METRICS_SERVICE.api;
    const worker = METRICS_SERVICE.worker;
    const latency = (name: string, service: string) => ['p50', 'p90', 'p99'].map((s) => metric(name, service, s, {}, `${name} ${s}`));
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Jobs submitted and finished',
            left: [
              metric(METRIC.jobsSubmitted, api, 'Sum', {}, 'submitted'),
              ...FINISHED_STATES.map((state) => metric(METRIC.jobsFinished, worker, 'Sum', { state }, state)),
            ],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'API responses',
            left: [metric(METRIC.api4xx, api, 'Sum', {}, '4xx'), metric(METRIC.api5xx, api, 'Sum', {}, '5xx')],
            right: latency(METRIC.apiLatency, api),
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'Dispatch latency (submit → process start, ms)', left: latency(METRIC.dispatchLatency, worker), width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Queue wait (runnable → claimed, ms)', left: latency(METRIC.queueWait, worker), width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Audit append latency (ms)', left: latency(METRIC.auditAppendLatency, api), width: 8 }),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'Job output (bytes)', left: [metric(METRIC.outputBytes, worker, 'Sum', {}, 'output bytes')], width: 24 }),
        ],
      ],
    });
  }
}
