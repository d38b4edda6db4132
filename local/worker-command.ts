import { resolve } from 'node:path';
import { loadRuntimeConfig, type RuntimeConfig } from '../core/config.ts';
import { createWorkerDependencies } from '../core/app/worker-dependencies.ts';
import { createInProcessScheduler } from '../core/app/scheduler-dependencies.ts';
import { containerNetworkFromEnv, createWorkerRuntime } from '../core/app/worker-runtime.ts';
import { isolationNotice } from '../core/runtime/job-runtime.ts';
import { yieldCpuToJobs } from '../core/runtime/autogroup-priority.ts';
import { Worker } from '../core/worker/worker.ts';
import { describeGpus, detectGpus } from '../core/worker/gpus.ts';
import { loadWorkerPricing } from '../core/worker/worker-config.ts';
import { readLocalConfig } from './local-state.ts';

export interface WorkerCommandOptions {
  readonly queue?: string;
  readonly concurrency?: number;
  readonly drainSeconds?: number;
  readonly dataDir?: string;
}

/**
 * `runplane worker`: joins the deployment described by the RUNPLANE_* environment when it is set,
 * otherwise the local platform running from this directory (.runplane/local.json).
 */
export async function runWorkerCommand(options: WorkerCommandOptions = {}): Promise<void> {
  const config: RuntimeConfig = process.env.RUNPLANE_JOBS_TABLE
    ? loadRuntimeConfig()
    : await readLocalConfig(options.dataDir);
  const pool = options.queue ?? 'default';
  const queue = config.queues.find((q) => q.pool === pool);
  if (!queue) throw new Error(`unknown queue "${pool}"; known: ${config.queues.map((q) => q.pool).join(', ')}`);
  const runtime = await createWorkerRuntime({
    hiddenPaths: [resolve(options.dataDir ?? '.runplane')],
    containerNetwork: containerNetworkFromEnv(process.env.RUNPLANE_WORKER_CONTAINER_NETWORK),
  });
  console.error(isolationNotice(runtime.isolation));
  const priority = await yieldCpuToJobs();
  console.error(`CPU: ${'nice' in priority ? `jobs first (this worker's autogroup at nice ${priority.nice})` : `same priority as its jobs: ${priority.unavailable}`}`);
  const gpus = await detectGpus(undefined, { warn: (message) => console.error(message) });
  console.error(`GPUs: ${describeGpus(gpus)}`);
  // This worker runs passes for its pool itself when it joins and when its jobs end; the platform's
  // (or the AWS scheduler's) periodic pass is the safety net. Concurrent passes are harmless.
  // A deployment with a scheduler Lambda (RUNPLANE_SCHEDULER_QUEUE_URL) is kicked instead.
  const log = (level: string, message: string, fields?: Record<string, unknown>) => console.error(JSON.stringify({ level, message, ...fields }));
  const inProcess = config.schedulerQueueUrl ? undefined : createInProcessScheduler(config, { log });
  const deps = createWorkerDependencies(config, inProcess ? { admission: inProcess } : {});
  const scheduler = inProcess ?? deps.scheduler!;
  const worker = new Worker({
    ...deps,
    scheduler,
    runtime,
    gpus,
    pricing: loadWorkerPricing(),
    pool,
    concurrency: options.concurrency ?? 1,
    leaseSeconds: queue.visibilityTimeoutSeconds,
    log: (level, message, fields) => console.error(JSON.stringify({ level, message, ...fields })),
  });
  worker.start();
  console.error(`worker ${worker.workerId} polling queue "${pool}" (concurrency ${options.concurrency ?? 1}); Ctrl-C to stop`);
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      console.error('draining...');
      void worker
        .stop({ drainSeconds: options.drainSeconds ?? 30 })
        .then(() => inProcess?.stop())
        .then(resolve);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}
