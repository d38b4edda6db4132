import { describe, expect, it } from 'vitest';
import { humanConsoleLine } from '../../core/observability/console-format.ts';
import { createMetrics, METRIC, workerMetrics } from '../../core/observability/metrics.ts';
import { createObservability, recordRequest } from '../../core/observability/observability.ts';
import { createStructuredLogger } from '../../core/observability/structured-logger.ts';
import { attemptStartMeasures } from '../../core/worker/attempt-measures.ts';
import type { Job } from '../../core/jobs/job.ts';

describe('structured logger', () => {
  it('writes Powertools JSON records with the keys given, to every sink, and redacts credentials', () => {
    const seen: Record<string, unknown>[] = [];
    const logger = createStructuredLogger({ service: 'runplane-test', sinks: [(r) => seen.push({ ...r })], persistentKeys: { workerId: 'w1' } });
    logger.warn('heartbeat failed', { jobId: 'J1', attempt: 2, authorization: 'Bearer rp_secret', nested: { token: 'abc', keep: 1 } });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ level: 'WARN', message: 'heartbeat failed', service: 'runplane-test', workerId: 'w1', jobId: 'J1', attempt: 2 });
    expect(seen[0]!.authorization).toBe('[redacted]');
    expect(seen[0]!.nested).toEqual({ token: '[redacted]', keep: 1 });
    expect(JSON.stringify(seen)).not.toContain('rp_secret');
    expect(typeof seen[0]!.timestamp).toBe('string');
  });

  it('children keep the sinks and add their keys', () => {
    const seen: Record<string, unknown>[] = [];
    const child = createStructuredLogger({ service: 's', sinks: [(r) => seen.push({ ...r })] }).createChild({ persistentKeys: { workerId: 'local-default-1' } });
    child.info('job started', { jobId: 'J' });
    expect(seen[0]).toMatchObject({ workerId: 'local-default-1', jobId: 'J' });
  });
});

describe('EMF metrics', () => {
  it('publishes request counts by class, and finished jobs by state in their own document', () => {
    const docs: Record<string, unknown>[] = [];
    const o = createObservability({ service: 'runplane-test', sinks: [() => undefined], metricsSink: (d) => docs.push({ ...d }) });
    recordRequest(o, { requestId: 'r', route: 'GET /v1/jobs', method: 'GET', path: '/v1/jobs', status: 404, durationMs: 3 });
    recordRequest(o, { requestId: 'r', route: 'GET /v1/jobs', method: 'GET', path: '/v1/jobs', status: 503, durationMs: 3 });
    expect(docs[0]).toMatchObject({ [METRIC.api4xx]: 1, [METRIC.apiLatency]: 3 });
    expect(docs[0]).not.toHaveProperty(METRIC.api5xx);
    expect(docs[1]).toMatchObject({ [METRIC.api5xx]: 1 });
    const aws = (docs[0] as { _aws: { CloudWatchMetrics: { Namespace: string }[] } })._aws;
    expect(aws.CloudWatchMetrics[0]!.Namespace).toBe('Runplane');

    const workerDocs: Record<string, unknown>[] = [];
    const w = workerMetrics(createMetrics({ service: 'runplane-worker', sink: (d) => workerDocs.push({ ...d }) }));
    w.attemptStarted({ dispatchLatencyMs: 120, queueWaitMs: 40 });
    w.attemptFinished({ state: 'FAILED', outputBytes: 2048 });
    expect(workerDocs[0]).toMatchObject({ [METRIC.dispatchLatency]: 120, [METRIC.queueWait]: 40 });
    expect(workerDocs[1]).toMatchObject({ [METRIC.outputBytes]: 2048 });
    expect(workerDocs[1]).not.toHaveProperty('state');
    expect(workerDocs[2]).toMatchObject({ [METRIC.jobsFinished]: 1, state: 'FAILED' });
  });
});

describe('attempt measures', () => {
  const base = { createdAt: '2026-01-01T00:00:00.000Z', retryAt: null, attempt: 1 } as const;
  const history = (...h: [string | null, string, string][]) => h.map(([from, to, at]) => ({ from, to, at, reason: '' }));
  it('dispatch latency from submit to process start on a first attempt; queue wait from queued to claimed', () => {
    const job = { ...base, history: history([null, 'QUEUED', '2026-01-01T00:00:00.000Z'], ['QUEUED', 'RUNNING', '2026-01-01T00:00:00.300Z']) } as unknown as Job;
    expect(attemptStartMeasures(job, new Date('2026-01-01T00:00:00.500Z'))).toEqual({ dispatchLatencyMs: 500, queueWaitMs: 300 });
  });
  it('a retry has no dispatch latency, and waits from the end of its backoff', () => {
    const job = {
      ...base,
      attempt: 2,
      retryAt: '2026-01-01T00:00:20.000Z',
      history: history(
        [null, 'QUEUED', '2026-01-01T00:00:00.000Z'],
        ['QUEUED', 'RUNNING', '2026-01-01T00:00:01.000Z'],
        ['RUNNING', 'QUEUED', '2026-01-01T00:00:10.000Z'],
        ['QUEUED', 'RUNNING', '2026-01-01T00:00:21.000Z'],
      ),
    } as unknown as Job;
    expect(attemptStartMeasures(job, new Date('2026-01-01T00:00:21.500Z'))).toEqual({ dispatchLatencyMs: null, queueWaitMs: 1000 });
  });
});

describe('local console lines', () => {
  const t = '2026-01-01T12:00:01.000Z';
  const cases: [string, Record<string, unknown>, boolean, string | undefined][] = [
    ['submitted', { level: 'INFO', timestamp: t, event: 'job.submitted', jobId: 'J', queue: 'default', group: 'ml' }, false, '12:00:01 → job J submitted to queue default (group ml)'],
    ['started', { level: 'INFO', timestamp: t, event: 'job.started', jobId: 'J', attempt: 1, workerId: 'local-default-1' }, false, '12:00:01 ▶ job J attempt 1 started on worker local-default-1'],
    ['succeeded', { level: 'INFO', timestamp: t, event: 'job.finished', jobId: 'J', state: 'SUCCEEDED', exitCode: 0, durationMs: 1234 }, false, '12:00:01 ✓ job J SUCCEEDED (exit 0) in 1.2s'],
    ['failed', { level: 'INFO', timestamp: t, event: 'job.finished', jobId: 'J', state: 'FAILED', exitCode: 7, durationMs: 50, reason: 'exited with code 7' }, false, '12:00:01 ✗ job J FAILED (exit 7) in 0.1s: exited with code 7'],
    ['request, quiet', { level: 'INFO', timestamp: t, event: 'http.request', method: 'GET', path: '/v1/jobs', status: 200, durationMs: 3 }, false, undefined],
    ['request, verbose', { level: 'INFO', timestamp: t, event: 'http.request', method: 'GET', path: '/v1/jobs', status: 200, durationMs: 3 }, true, '12:00:01   GET /v1/jobs → 200 3ms'],
    ['warning', { level: 'WARN', timestamp: t, message: 'heartbeat failed', service: 's', jobId: 'J' }, false, '12:00:01 warning: heartbeat failed jobId=J'],
    ['other info, quiet', { level: 'INFO', timestamp: t, message: 'job handed back' }, false, undefined],
    ['platform notice', { level: 'INFO', timestamp: t, message: 're-enqueued 2 queued job(s)', event: 'platform' }, false, '12:00:01 re-enqueued 2 queued job(s)'],
  ];
  it.each(cases)('%s', (_name, record, verbose, line) => {
    expect(humanConsoleLine(record, verbose)).toBe(line);
  });
});
