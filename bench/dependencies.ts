import { randomUUID } from 'node:crypto';
import { startLocalPlatform } from '../local/platform.ts';
import { apiRequest as request } from './api-request.ts';
import { ratio, summarize } from './stats.ts';

/**
 * Dependency release latency on the local platform: from a dependency's final state (its
 * `finishedAt`, written by the worker that ran it) to the dependent's process start, against the
 * baseline of a plain job's dispatch (its submit answered → its process start) in the same run.
 * The difference is what releasing costs: the dependents query, the re-read, the `releaseHold`
 * transaction and the send. Target: the dependent starts within a second of the dependency ending.
 */
export async function benchDependencies(options: { pairs: number }) {
  const started = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const platform = await startLocalPlatform({
    inMemory: true,
    port: 0,
    workers: 1,
    workerConcurrency: 4,
    workerPools: ['default'],
    dataDir: `/tmp/runplane-bench-${randomUUID().slice(0, 8)}`,
    log: () => undefined,
    workerOptions: {
      pollWaitSeconds: 20,
      onProcessStarted: (job, at) => {
        started.set(job.id, at.getTime());
        waiters.get(job.id)?.();
      },
    },
  });
  const startOf = async (id: string) => {
    if (!started.has(id)) await new Promise<void>((resolve) => waiters.set(id, resolve));
    waiters.delete(id);
    return started.get(id)!;
  };
  const { url, adminKey } = platform;
  try {
    const release: number[] = [];
    const dispatch: number[] = [];
    for (let i = 0; i < options.pairs; i++) {
      // Interleaved, so drift in the emulators affects both equally.
      const a = await request(url, adminKey, 'POST', '/v1/jobs', { command: ['true'], labels: { bench: 'dependency' } });
      const b = await request(url, adminKey, 'POST', '/v1/jobs', {
        command: ['true'],
        labels: { bench: 'dependent' },
        dependsOn: [{ job: a.id, type: 'afterok' }],
      });
      const bStarted = await startOf(b.id as string);
      const finishedAt = Date.parse((await request(url, adminKey, 'GET', `/v1/jobs/${a.id as string}`)).finishedAt as string);
      release.push(bStarted - finishedAt);

      const c = await request(url, adminKey, 'POST', '/v1/jobs', { command: ['true'], labels: { bench: 'plain' } });
      const submitted = Date.now();
      dispatch.push((await startOf(c.id as string)) - submitted);
    }
    const releaseSummary = summarize(release);
    const dispatchSummary = summarize(dispatch);
    process.stderr.write(
      `bench: dependency release → start p50 ${releaseSummary.p50} ms vs plain dispatch p50 ${dispatchSummary.p50} ms: ratio ${ratio(releaseSummary.p50, dispatchSummary.p50)}\n`,
    );
    return {
      dependencyFinishedToDependentStartMs: releaseSummary,
      plainSubmitToStartMs: dispatchSummary,
      ratioP50: ratio(releaseSummary.p50, dispatchSummary.p50),
      p50OverDispatchMs: Math.round((releaseSummary.p50 - dispatchSummary.p50) * 100) / 100,
      target: 'dependent started within 1000 ms of its dependency ending (p99)',
      meetsTarget: releaseSummary.p99 <= 1000,
    };
  } finally {
    await platform.stop();
  }
}
