import type { Logger } from '@aws-lambda-powertools/logger';
import { METRICS_SERVICE } from './metric-names.ts';
import { createMetrics, METRIC, MetricUnit, type Metrics, type MetricsSink } from './metrics.ts';
import { createStructuredLogger, logFunction, type LogFunction, type LogLevelName, type LogSink } from './structured-logger.ts';

/**
 * The process's logger and metrics. A Lambda container, an ECS worker and the local platform are
 * each one process, so one instance each (as Powertools recommends: built once, at module scope,
 * reused by every invocation). Handlers are built before the local platform knows where its lines
 * go, so they read `observability()` per request; `configureObservability` (the local platform,
 * tests) replaces it.
 */
export interface Observability {
  readonly logger: Logger;
  readonly log: LogFunction;
  readonly metrics: Metrics;
}

export interface ObservabilityOptions {
  readonly service: string;
  readonly level?: LogLevelName;
  readonly sinks?: readonly LogSink[];
  readonly metricsSink?: MetricsSink;
}

let current: Observability | undefined;

export function createObservability(options: ObservabilityOptions): Observability {
  const logger = createStructuredLogger({
    service: options.service,
    ...(options.level ? { level: options.level } : {}),
    ...(options.sinks ? { sinks: options.sinks } : {}),
  });
  return {
    logger,
    log: logFunction(logger),
    metrics: createMetrics({ service: options.service, ...(options.metricsSink ? { sink: options.metricsSink } : {}) }),
  };
}

/** This process's observability; Lambda's default (stdout, service from POWERTOOLS_SERVICE_NAME). */
export function observability(): Observability {
  current ??= createObservability({ service: process.env.POWERTOOLS_SERVICE_NAME ?? METRICS_SERVICE.api });
  return current;
}

export function configureObservability(options: ObservabilityOptions): Observability {
  current = createObservability(options);
  return current;
}

/** One request answered: a per-request line (shown on the local console only with --verbose) and the 4xx/5xx counts. */
export function recordRequest(o: Observability, request: { readonly requestId: string | undefined; readonly route: string; readonly method: string; readonly path: string; readonly status: number; readonly durationMs: number }): void {
  o.logger.info('request', { event: 'http.request', ...request });
  o.metrics.addMetric(METRIC.apiLatency, MetricUnit.Milliseconds, request.durationMs);
  if (request.status >= 500) o.metrics.addMetric(METRIC.api5xx, MetricUnit.Count, 1);
  else if (request.status >= 400) o.metrics.addMetric(METRIC.api4xx, MetricUnit.Count, 1);
  o.metrics.publishStoredMetrics();
}

/** A job stored by a submit (not a replayed one). */
export function recordJobSubmitted(o: Observability, job: { readonly id: string; readonly queue: string; readonly group: string }, requestId: string | undefined): void {
  o.logger.info('job submitted', { event: 'job.submitted', jobId: job.id, queue: job.queue, group: job.group, requestId });
  o.metrics.addMetric(METRIC.jobsSubmitted, MetricUnit.Count, 1);
  o.metrics.publishStoredMetrics();
}

/** One audit append transaction committed (the entry and the change it records), ms. */
export function recordAuditAppend(o: Observability, ms: number): void {
  o.metrics.addMetric(METRIC.auditAppendLatency, MetricUnit.Milliseconds, ms);
  o.metrics.publishStoredMetrics();
}
