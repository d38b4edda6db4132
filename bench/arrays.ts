import { randomUUID } from 'node:crypto';
import { startLocalPlatform } from '../local/platform.ts';
import { apiRequest as request } from './api-request.ts';
import { ratio, summarize } from './stats.ts';

const COUNTED_STATES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'] as const;

/** Starts per second between the `skip`-th and the last of `times` (the first ones fill the idle pool at once). */
function startsPerSecond(times: readonly number[], skip: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  const from = sorted[skip]!;
  const to = sorted.at(-1)!;
  return Math.round(((sorted.length - 1 - skip) / Math.max(1, to - from)) * 1000 * 10) / 10;
}

/**
 * Arrays on the local platform (API, scheduler, 4 workers × 4 slots = a warm pool of 16):
 * - the time to submit a 10,000-child array through the API (one parent item, one audit entry),
 *   against one plain submit measured in the same run;
 * - the time from the submit until every child is in the parent's counts (GET /v1/jobs/{id});
 * - children started per second on the pool, against the same number of plain jobs submitted at
 *   once (the scheduler's and workers' path without the array: materialisation and count moves).
 * Children run `true`; the array is cancelled after the measured starts.
 */
export async function benchArrays(options: { size: number; measuredStarts: number; plainSubmits: number }) {
  const starts = new Map<string, number>();
  const platform = await startLocalPlatform({
    inMemory: true,
    port: 0,
    workers: 4,
    workerConcurrency: 4,
    workerPools: ['default'],
    dataDir: `/tmp/runplane-bench-${randomUUID().slice(0, 8)}`,
    log: () => undefined,
    workerOptions: { onProcessStarted: (job, at) => void starts.set(job.id, at.getTime()) },
  });
  const { url, adminKey } = platform;
  const waitFor = async (done: () => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    // Warm the API, the scheduler and the workers; then the baseline: plain submits.
    const warm = await request(url, adminKey, 'POST', '/v1/jobs', { command: ['true'] });
    await waitFor(() => starts.has(warm.id as string), 60_000);
    const plainSubmitMs: number[] = [];
    for (let i = 0; i < options.plainSubmits; i++) {
      const t = performance.now();
      await request(url, adminKey, 'POST', '/v1/jobs', { command: ['true'], labels: { bench: 'plain-submit' } });
      plainSubmitMs.push(performance.now() - t);
    }
    // The baseline start rate: as many plain jobs as children measured, submitted at once.
    const plainIds: string[] = [];
    for (let i = 0; i < options.measuredStarts; i += 25) {
      const batch = Math.min(25, options.measuredStarts - i);
      plainIds.push(...(await Promise.all(Array.from({ length: batch }, () => request(url, adminKey, 'POST', '/v1/jobs', { command: ['true'] })))).map((j) => j.id as string));
    }
    await waitFor(() => plainIds.every((id) => starts.has(id)), 600_000);
    const plainRate = startsPerSecond(plainIds.map((id) => starts.get(id)!), 16);

    const t0 = performance.now();
    const parent = await request(url, adminKey, 'POST', '/v1/jobs', { command: ['true'], array: { size: options.size } });
    const submitMs = performance.now() - t0;
    const parentId = parent.id as string;
    let countedMs: number | null = null;
    for (;;) {
      const view = await request(url, adminKey, 'GET', `/v1/jobs/${parentId}`);
      const status = view.arrayStatus as Record<string, number> | null;
      const counted = status ? COUNTED_STATES.reduce((n, s) => n + (status[s] ?? 0), 0) : 0;
      if (counted === options.size) {
        countedMs = performance.now() - t0;
        break;
      }
      if (performance.now() - t0 > 60_000) break;
    }
    const childStarts = () => [...starts.entries()].filter(([id]) => id.startsWith(`${parentId}-`)).map(([, at]) => at);
    await waitFor(() => childStarts().length >= options.measuredStarts, 600_000);
    const childRate = startsPerSecond(childStarts().slice(0, options.measuredStarts), 16);
    const cancelT = performance.now();
    await request(url, adminKey, 'POST', `/v1/jobs/${parentId}/cancel`);
    const cancelMs = performance.now() - cancelT;

    const plain = summarize(plainSubmitMs);
    process.stderr.write(
      `bench: ${options.size}-child array submit ${Math.round(submitMs)} ms (plain submit p50 ${plain.p50} ms), ` +
        `all counted after ${countedMs === null ? 'never' : Math.round(countedMs)} ms; children started ${childRate}/s vs plain jobs ${plainRate}/s on 16 slots\n`,
    );
    return {
      arraySize: options.size,
      arraySubmitMs: Math.round(submitMs * 10) / 10,
      plainSubmitMs: plain,
      submitRatioToPlainP50: ratio(submitMs, plain.p50),
      allChildrenCountedMs: countedMs === null ? null : Math.round(countedMs * 10) / 10,
      slots: 16,
      measuredStarts: options.measuredStarts,
      childrenStartedPerSecond: childRate,
      plainJobsStartedPerSecond: plainRate,
      startRateRatioToPlain: ratio(childRate, plainRate),
      cancelAfterStartsMs: Math.round(cancelMs),
      target: `array of ${options.size} submitted through the API in <= 2000 ms`,
      meetsTarget: submitMs <= 2000,
    };
  } finally {
    await platform.stop();
  }
}
