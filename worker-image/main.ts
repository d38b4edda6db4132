/**
 * The worker container's entry point (ECS). Configuration comes from the task definition's
 * environment (see core/config.ts) plus:
 *   RUNPLANE_WORKER_QUEUE              pool to serve (required)
 *   RUNPLANE_WORKER_CONCURRENCY        jobs at once (default: one per GPU, or 1 without GPUs)
 *   RUNPLANE_WORKER_DRAIN_SECONDS      how long running jobs may finish after SIGTERM (default 90)
 *   RUNPLANE_WORKER_IDLE_EXIT_SECONDS  exit after this long with nothing to do (default 600; 0 = never)
 *   RUNPLANE_WORKER_HEARTBEAT_FILE     touched on every poll; the image's health check reads it
 *   RUNPLANE_WORKER_WORKDIR            where each attempt gets its scratch directory
 * SIGTERM (ECS stop, spot interruption) drains: no new work, running jobs finish or are handed back.
 */
import { writeFile } from 'node:fs/promises';
import { createWorkerDependencies } from '../core/app/worker-dependencies.ts';
import { loadRuntimeConfig } from '../core/config.ts';
import { detectGpus } from '../core/worker/gpus.ts';
import { DEFAULT_PROTECTION_MINUTES, setTaskProtection } from '../core/worker/task-protection.ts';
import { Worker } from '../core/worker/worker.ts';
import { METRICS_SERVICE, workerMetrics } from '../core/observability/metrics.ts';
import { configureObservability } from '../core/observability/observability.ts';

// One JSON line per event on stdout (the task's log group), EMF metrics among them.
const telemetry = configureObservability({ service: METRICS_SERVICE.worker });
const log = telemetry.log;

const config = loadRuntimeConfig();
const pool = process.env.RUNPLANE_WORKER_QUEUE ?? '';
const queue = config.queues.find((q) => q.pool === pool);
if (!queue) {
  console.error(`RUNPLANE_WORKER_QUEUE must name one of: ${config.queues.map((q) => q.pool).join(', ')}`);
  process.exit(2);
}
const gpus = await detectGpus(undefined, { warn: (message) => log('warn', message) });
// One job per GPU on a GPU machine ("as many jobs as it has free GPUs"), else the configured count.
const concurrency = Number(process.env.RUNPLANE_WORKER_CONCURRENCY ?? (gpus.length > 0 ? gpus.length : 1));
const drainSeconds = Number(process.env.RUNPLANE_WORKER_DRAIN_SECONDS ?? '90');
const idleExitSeconds = Number(process.env.RUNPLANE_WORKER_IDLE_EXIT_SECONDS ?? '600');
const heartbeatFile = process.env.RUNPLANE_WORKER_HEARTBEAT_FILE;
log('info', 'worker starting', { pool, concurrency, gpus: gpus.map((g) => `${g.index}:${g.name}`) });

const worker = new Worker({
  ...createWorkerDependencies(config),
  pool,
  concurrency,
  gpus,
  leaseSeconds: queue.visibilityTimeoutSeconds,
  ...(process.env.RUNPLANE_WORKER_WORKDIR ? { workRoot: process.env.RUNPLANE_WORKER_WORKDIR } : {}),
  // ECS must not scale in a task that is running jobs.
  setBusy: (busy) => setTaskProtection(busy, busy ? DEFAULT_PROTECTION_MINUTES : undefined),
  onPoll: heartbeatFile ? () => void writeFile(heartbeatFile, new Date().toISOString()).catch(() => undefined) : undefined,
  log,
  metrics: workerMetrics(telemetry.metrics),
});
telemetry.logger.appendPersistentKeys({ workerId: worker.workerId });
worker.start();

// Protection expires on its own (so a wedged task cannot pin capacity forever): renew it while busy.
const renewProtection = setInterval(() => {
  if (worker.runningJobs > 0) {
    setTaskProtection(true, DEFAULT_PROTECTION_MINUTES).catch((err: unknown) => log('warn', 'protection renewal failed', { error: String(err) }));
  }
}, (DEFAULT_PROTECTION_MINUTES / 2) * 60_000);
renewProtection.unref();

let stopping = false;
const shutdown = (why: string, seconds: number) => {
  if (stopping) return;
  stopping = true;
  log('info', `${why}; draining`, { drainSeconds: seconds });
  void worker.stop({ drainSeconds: seconds }).then(() => process.exit(0));
};
process.on('SIGTERM', () => shutdown('received SIGTERM', drainSeconds));
process.on('SIGINT', () => shutdown('received SIGINT', drainSeconds));

// Scale to zero: an idle worker leaves, so its instance can go too.
if (idleExitSeconds > 0) {
  const idleCheck = setInterval(() => {
    if (worker.idleForMs() >= idleExitSeconds * 1000) shutdown(`idle for ${idleExitSeconds} s`, 0);
  }, 5_000);
  idleCheck.unref();
}
