/**
 * The worker container's entry point (ECS). Configuration comes from the task definition's
 * environment, validated: core/config.ts plus the worker's own (core/worker/worker-config.ts).
 * SIGTERM (ECS stop, spot interruption) drains: no new work, running jobs finish or are handed back.
 */
import { writeFile } from 'node:fs/promises';
import { createWorkerDependencies } from '../core/app/worker-dependencies.ts';
import { ConfigError, loadRuntimeConfig } from '../core/config.ts';
import { loadWorkerConfig, type WorkerConfig } from '../core/worker/worker-config.ts';
import { JOB_NETWORK } from '../core/isolation/job-network.ts';
import { detectGpus } from '../core/worker/gpus.ts';
import { DEFAULT_PROTECTION_MINUTES, setTaskProtection } from '../core/worker/task-protection.ts';
import { createWorkerRuntime, containerNetworkFromEnv } from '../core/app/worker-runtime.ts';
import { isolationNotice } from '../core/runtime/job-runtime.ts';
import { yieldCpuToJobs } from '../core/runtime/autogroup-priority.ts';
import { Worker } from '../core/worker/worker.ts';
import { METRICS_SERVICE, workerMetrics } from '../core/observability/metrics.ts';
import { configureObservability } from '../core/observability/observability.ts';

// One JSON line per event on stdout (the task's log group), EMF metrics among them.
const telemetry = configureObservability({ service: METRICS_SERVICE.worker });
const log = telemetry.log;

const config = loadRuntimeConfig();
let workerConfig: WorkerConfig;
try {
  workerConfig = loadWorkerConfig(config);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(2);
}
const { queue, drainSeconds, idleExitSeconds, heartbeatFile } = workerConfig;
const pool = queue.pool;
const gpus = await detectGpus(undefined, { warn: (message) => log('warn', message) });
// One job per GPU on a GPU machine ("as many jobs as it has free GPUs"), else the configured count.
const concurrency = workerConfig.concurrency ?? (gpus.length > 0 ? gpus.length : 1);
log('info', 'worker starting', { pool, concurrency, gpus: gpus.map((g) => `${g.index}:${g.name}`), pricing: workerConfig.pricing });

// Root in the image only to give each job slot a uid of its own (runplane-slot-N) and end all of
// its processes; the jobs themselves never run as root.
const runtime = await createWorkerRuntime({
  containerNetwork: containerNetworkFromEnv(process.env.RUNPLANE_WORKER_CONTAINER_NETWORK),
  // `bridge` means the instance's job network, whose firewall blocks IMDS and the credentials endpoint.
  bridgeNetwork: JOB_NETWORK.name,
});
log(runtime.isolation.kind === 'none' ? 'warn' : 'info', isolationNotice(runtime.isolation), { isolation: runtime.isolation });
// Where the kernel applies autogroups (not inside a cpu cgroup, which ECS tasks usually are) the
// worker's output processing yields to its jobs; elsewhere this changes nothing.
log('info', 'worker CPU priority', { cpuPriority: await yieldCpuToJobs() });

const worker = new Worker({
  ...createWorkerDependencies(config),
  runtime,
  pool,
  concurrency,
  gpus,
  pricing: workerConfig.pricing,
  leaseSeconds: queue.visibilityTimeoutSeconds,
  ...(workerConfig.workDir ? { workRoot: workerConfig.workDir } : {}),
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
