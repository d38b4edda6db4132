/**
 * Metric names, namespace and `service` dimension values, declared once for the writers
 * (core/observability/metrics.ts) and the dashboard (lib/dashboard.ts). No imports: the CDK app
 * reads it without loading Powertools.
 */
export const METRICS_NAMESPACE = 'Runplane';

export const METRIC = {
  jobsSubmitted: 'JobsSubmitted',
  /** With the `state` dimension. */
  jobsFinished: 'JobsFinished',
  /** Submit → the job's process started (first attempt), ms. */
  dispatchLatency: 'DispatchLatency',
  /** The attempt became runnable (queued, or its retry backoff ended) → claimed, ms. */
  queueWait: 'QueueWait',
  outputBytes: 'OutputBytes',
  /** The transaction that carries an audit entry with its change, ms. */
  auditAppendLatency: 'AuditAppendLatency',
  api4xx: 'Api4xx',
  api5xx: 'Api5xx',
  apiLatency: 'ApiLatency',
} as const;

export const FINISHED_STATES = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'] as const;

/** The `service` dimension Powertools adds to every metric: one value per kind of process. */
export const METRICS_SERVICE = { api: 'runplane-api', worker: 'runplane-worker' } as const;
