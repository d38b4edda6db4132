import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * Runplane's metrics as CloudWatch embedded metric format (EMF), with Powertools Metrics: each
 * publish is one JSON line CloudWatch turns into metrics, so no PutMetricData call sits on a
 * request path. One name table, used by the writers and by the dashboard (lib/dashboard.ts).
 * Locally the lines go to the platform's log file through `sink` instead of stdout.
 */

export { FINISHED_STATES, METRIC, METRICS_NAMESPACE, METRICS_SERVICE } from './metric-names.ts';
import { METRIC, METRICS_NAMESPACE } from './metric-names.ts';

/** Receives each EMF document instead of stdout. */
export type MetricsSink = (emf: Readonly<Record<string, unknown>>) => void;

class SinkMetrics extends Metrics {
  readonly #sink: MetricsSink | undefined;

  constructor(options: ConstructorParameters<typeof Metrics>[0], sink: MetricsSink | undefined) {
    super(options);
    this.#sink = sink;
  }

  override publishStoredMetrics(): this {
    if (!this.#sink) return super.publishStoredMetrics();
    try {
      if (this.hasStoredMetrics()) this.#sink(this.serializeMetrics() as unknown as Record<string, unknown>);
    } finally {
      this.clearMetrics();
      this.clearDimensions();
      this.clearMetadata();
    }
    return this;
  }
}

export interface MetricsOptions {
  /** The `service` dimension: runplane-api, runplane-worker. */
  readonly service: string;
  readonly sink?: MetricsSink;
}

export function createMetrics(options: MetricsOptions): Metrics {
  return new SinkMetrics({ namespace: METRICS_NAMESPACE, serviceName: options.service }, options.sink);
}

/** What a worker reports about the attempts it runs (implemented over Metrics below). */
export interface WorkerMetrics {
  attemptStarted(measures: { readonly dispatchLatencyMs: number | null; readonly queueWaitMs: number }): void;
  attemptFinished(measures: { readonly state: string; readonly outputBytes: number }): void;
}

/**
 * A worker runs for hours, so each measure is published at once as its own EMF line, not held
 * until the end of an invocation as in a Lambda handler.
 */
export function workerMetrics(metrics: Metrics): WorkerMetrics {
  return {
    attemptStarted({ dispatchLatencyMs, queueWaitMs }) {
      if (dispatchLatencyMs !== null) metrics.addMetric(METRIC.dispatchLatency, MetricUnit.Milliseconds, dispatchLatencyMs);
      metrics.addMetric(METRIC.queueWait, MetricUnit.Milliseconds, queueWaitMs);
      metrics.publishStoredMetrics();
    },
    attemptFinished({ state, outputBytes }) {
      metrics.addMetric(METRIC.outputBytes, MetricUnit.Bytes, outputBytes);
      metrics.publishStoredMetrics();
      // By state in a document of its own: a dimension applies to every metric of its document
      // (publishing clears it again).
      metrics.addDimension('state', state);
      metrics.addMetric(METRIC.jobsFinished, MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
    },
  };
}

export { MetricUnit, type Metrics };
