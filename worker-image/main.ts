/**
 * The worker container's entry point (ECS). Configuration comes from the task definition's
 * environment (see core/config.ts) plus:
 *   RUNPLANE_WORKER_QUEUE          pool to serve (required)
 *   RUNPLANE_WORKER_CONCURRENCY    jobs at once (default 1)
 *   RUNPLANE_WORKER_DRAIN_SECONDS  how long running jobs may finish after SIGTERM (default 90)
 * SIGTERM (ECS stop, spot interruption) drains: no new work, running jobs finish or are handed back.
 */
import { createWorkerDependencies } from '../core/app/worker-dependencies.ts';
import { loadRuntimeConfig } from '../core/config.ts';
import { Worker } from '../core/worker/worker.ts';

const config = loadRuntimeConfig();
const pool = process.env.RUNPLANE_WORKER_QUEUE ?? '';
const queue = config.queues.find((q) => q.pool === pool);
if (!queue) {
  console.error(`RUNPLANE_WORKER_QUEUE must name one of: ${config.queues.map((q) => q.pool).join(', ')}`);
  process.exit(2);
}
const concurrency = Number(process.env.RUNPLANE_WORKER_CONCURRENCY ?? '1');
const drainSeconds = Number(process.env.RUNPLANE_WORKER_DRAIN_SECONDS ?? '90');

const worker = new Worker({
  ...createWorkerDependencies(config),
  pool,
  concurrency,
  leaseSeconds: queue.visibilityTimeoutSeconds,
  log: (level, message, fields) => console.log(JSON.stringify({ level, message, time: new Date().toISOString(), ...fields })),
});
worker.start();

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(JSON.stringify({ level: 'info', message: `received ${signal}; draining`, drainSeconds }));
  void worker.stop({ drainSeconds }).then(() => process.exit(0));
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
