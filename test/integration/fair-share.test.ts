import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiDependencies, type ApiDependencies } from '../../core/app/api-dependencies.ts';
import { createJobQueue } from '../../core/app/dispatch-dependencies.ts';
import { createInProcessScheduler } from '../../core/app/scheduler-dependencies.ts';
import { createWorkerDependencies } from '../../core/app/worker-dependencies.ts';
import type { Caller } from '../../core/auth/caller.ts';
import type { RuntimeConfig } from '../../core/config.ts';
import { isTerminal, type Job } from '../../core/jobs/job.ts';
import type { InProcessScheduler } from '../../core/scheduling/scheduler-kicker.ts';
import { Worker } from '../../core/worker/worker.ts';
import { createTestEnvironment, runtimeConfigFor, type TestEnvironment } from '../support/emulators.ts';
import { fakeGpus } from '../support/fake-gpus.ts';
import { FAST_WORKER_OPTIONS } from '../support/platform-parts.ts';

const GROUPS = { light: { weight: 1, jobs: 30 }, heavy: { weight: 3, jobs: 50 } } as const;
/**
 * Jobs finished before the shares are measured: about 10 of `light` and 30 of `heavy` at 1:3 (and
 * 20 of each without fair share, still short of either backlog).
 */
const MEASURED_JOBS = 40;
/**
 * Seconds a job runs. Each end costs its GPU a pass and a receive before the next job claims it;
 * under load the heavier group's ends come in bursts that wait for each other's passes, so short
 * jobs tilt the shares toward the lighter group (1 s jobs: 1:2.6-2.8), longer ones dilute that.
 */
const JOB_SECONDS = 3;

/**
 * Fair share through the production wiring (API, in-process scheduler, workers with fake GPUs
 * found through a fake nvidia-smi, group items for weights and decayed use), on the emulators:
 * two groups with weights 1 and 3 and backlogs deeper than the run get GPU-seconds 1:3.
 *
 * Break verified: with decideAdmissions taking every group's weight as 1, the ratio assertion
 * failed (ratio 0.98: light 76.1, heavy 74.8 GPU-seconds). Before the pass counted each job once (fair share charged the
 * claim counters, which a claim between the pass's reads counted twice), 1 s jobs got 1:2.6.
 */
describe('fair share between two groups on DynamoDB Local and fauxqs', () => {
  let env: TestEnvironment;
  let config: RuntimeConfig;
  let api: ApiDependencies;
  let scheduler: InProcessScheduler;
  let periodic: NodeJS.Timeout;
  const workers: Worker[] = [];
  const admin: Caller = { subject: 'apikey:admin', role: 'admin', groups: ['light', 'heavy'] };

  beforeAll(async () => {
    env = await createTestEnvironment();
    config = runtimeConfigFor(env);
    scheduler = createInProcessScheduler(config);
    api = createApiDependencies(config, { queue: createJobQueue(config), admission: scheduler, log: () => undefined });
    periodic = setInterval(() => scheduler.kick('default'), 1_000);
  }, 60_000);
  afterAll(async () => {
    clearInterval(periodic);
    await Promise.all(workers.map((w) => w.stop({ drainSeconds: 0 })));
    await scheduler?.stop();
    await env?.cleanup();
  });

  it('gives groups with weights 1 and 3 and deep backlogs GPU-seconds within ±10 % of 1:3', async () => {
    for (const [name, { weight }] of Object.entries(GROUPS)) await api.groups.update(name, { weight }, admin);
    // Deep backlogs first, interleaved, so both groups wait from the start.
    const submitted: Job[] = [];
    for (let i = 0; i < Math.max(GROUPS.light.jobs, GROUPS.heavy.jobs); i++) {
      for (const [name, { jobs }] of Object.entries(GROUPS)) {
        if (i >= jobs) continue;
        const caller: Caller = { subject: `apikey:${name}-user`, role: 'member', groups: [name] };
        submitted.push((await api.jobs.submit({ command: ['sleep', String(JOB_SECONDS)], resources: { gpus: 1 } }, caller)).job);
      }
    }
    // 4 GPUs on two workers: short of the 140 GPUs the backlogs want.
    for (let i = 0; i < 2; i++) {
      const worker = new Worker({
        ...createWorkerDependencies(config),
        ...FAST_WORKER_OPTIONS,
        concurrency: 2,
        gpus: await fakeGpus(2),
        reportIntervalSeconds: 0.5,
        scheduler,
        log: () => undefined,
      });
      worker.start();
      workers.push(worker);
    }
    const { store } = createWorkerDependencies(config);
    let jobs: Job[] = [];
    for (;;) {
      jobs = await Promise.all(submitted.map(async (j) => (await store.getJob(j.id))!));
      if (jobs.filter((j) => isTerminal(j.state)).length >= MEASURED_JOBS) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const at = Date.now();
    // GPU-seconds so far: finished attempts as recorded, running ones up to now (no edge effect
    // from the job that was about to end).
    const gpuSeconds = { light: 0, heavy: 0 };
    for (const job of jobs) {
      for (const attempt of job.attempts) {
        gpuSeconds[job.group as keyof typeof gpuSeconds] += attempt.usage
          ? attempt.usage.gpuSeconds
          : ((at - new Date(attempt.startedAt).getTime()) / 1000) * job.resources.gpus;
      }
    }
    const finished = (group: string) => jobs.filter((j) => j.group === group && isTerminal(j.state));
    expect(finished('light').every((j) => j.state === 'SUCCEEDED') && finished('heavy').every((j) => j.state === 'SUCCEEDED')).toBe(true);
    // Both backlogs were still deep when measured: the shares are what fair share chose, not what was left.
    expect(jobs.filter((j) => j.group === 'light' && j.state === 'QUEUED').length).toBeGreaterThan(5);
    expect(jobs.filter((j) => j.group === 'heavy' && j.state === 'QUEUED').length).toBeGreaterThan(5);
    const ratio = gpuSeconds.heavy / gpuSeconds.light;
    const figures = `GPU-seconds light ${gpuSeconds.light.toFixed(1)}, heavy ${gpuSeconds.heavy.toFixed(1)}, ratio ${ratio.toFixed(3)}`;
    expect(ratio, figures).toBeGreaterThanOrEqual(2.7);
    expect(ratio, figures).toBeLessThanOrEqual(3.3);
  }, 300_000);
});
