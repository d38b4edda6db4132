import * as z from 'zod';
import { ConfigError, type RuntimeConfig, type RuntimeQueue } from '../config.ts';
import type { InstancePricing } from '../usage/usage.ts';

/**
 * The worker container's own variables (worker-image/main.ts), validated like the API's
 * (core/config.ts): a missing or malformed one fails the start with its name.
 *
 * RUNPLANE_WORKER_QUEUE              pool to serve (required; one of RUNPLANE_QUEUES)
 * RUNPLANE_WORKER_CONCURRENCY        jobs at once (default: one per GPU, or 1 without GPUs)
 * RUNPLANE_WORKER_DRAIN_SECONDS      how long running jobs may finish after SIGTERM (default 90)
 * RUNPLANE_WORKER_IDLE_EXIT_SECONDS  exit after this long with nothing to do (default 600; 0 = never)
 * RUNPLANE_WORKER_HEARTBEAT_FILE     touched on every poll; the image's health check reads it
 * RUNPLANE_WORKER_WORKDIR            where each attempt gets its scratch directory
 * RUNPLANE_PRICE_PER_INSTANCE_HOUR   USD per hour of this worker's instance, for usage costs (default 0;
 *                                    the stack sets it from core/usage/instance-prices.ts; also read locally)
 * RUNPLANE_INSTANCE_GPUS             GPUs of the instance a GPU job's share is taken of (default: those found)
 * RUNPLANE_INSTANCE_VCPUS            vCPUs of the instance a CPU job's share is taken of (default: this machine's)
 */
const seconds = (fallback: number) => z.coerce.number().int().min(0).max(86_400).default(fallback);

const envSchema = z.object({
  RUNPLANE_WORKER_QUEUE: z.string().min(1),
  RUNPLANE_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).optional(),
  RUNPLANE_WORKER_DRAIN_SECONDS: seconds(90),
  RUNPLANE_WORKER_IDLE_EXIT_SECONDS: seconds(600),
  RUNPLANE_WORKER_HEARTBEAT_FILE: z.string().min(1).optional(),
  RUNPLANE_WORKER_WORKDIR: z.string().min(1).optional(),
});

const pricingSchema = z.object({
  RUNPLANE_PRICE_PER_INSTANCE_HOUR: z.coerce.number().min(0).max(10_000).optional(),
  RUNPLANE_INSTANCE_GPUS: z.coerce.number().int().min(0).max(64).optional(),
  RUNPLANE_INSTANCE_VCPUS: z.coerce.number().int().min(1).max(1024).optional(),
});

/**
 * A worker's instance pricing from the environment (what it leaves out, the worker fills in from the
 * machine: core/worker/worker.ts). Read by the worker image and, locally, by `runplane dev` and
 * `runplane worker`, where RUNPLANE_PRICE_PER_INSTANCE_HOUR is how a local platform plays a priced box.
 */
export function loadWorkerPricing(env: NodeJS.ProcessEnv = process.env): Partial<InstancePricing> {
  const given = Object.fromEntries(Object.entries(env).filter(([k, v]) => k in pricingSchema.shape && v !== ''));
  const parsed = pricingSchema.safeParse(given);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid Runplane worker pricing: ${problems}`);
  }
  const e = parsed.data;
  return {
    ...(e.RUNPLANE_PRICE_PER_INSTANCE_HOUR !== undefined ? { usdPerInstanceHour: e.RUNPLANE_PRICE_PER_INSTANCE_HOUR } : {}),
    ...(e.RUNPLANE_INSTANCE_GPUS !== undefined ? { gpus: e.RUNPLANE_INSTANCE_GPUS } : {}),
    ...(e.RUNPLANE_INSTANCE_VCPUS !== undefined ? { vcpus: e.RUNPLANE_INSTANCE_VCPUS } : {}),
  };
}

export interface WorkerConfig {
  readonly queue: RuntimeQueue;
  /** Undefined: one job per GPU, or 1 without GPUs (decided once the GPUs are detected). */
  readonly concurrency?: number;
  readonly drainSeconds: number;
  readonly idleExitSeconds: number;
  readonly heartbeatFile?: string;
  readonly workDir?: string;
  readonly pricing: Partial<InstancePricing>;
}

export function loadWorkerConfig(runtime: RuntimeConfig, env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid Runplane worker configuration: ${problems}`);
  }
  const e = parsed.data;
  const queue = runtime.queues.find((q) => q.pool === e.RUNPLANE_WORKER_QUEUE);
  if (!queue) {
    throw new ConfigError(
      `invalid Runplane worker configuration: RUNPLANE_WORKER_QUEUE must name one of: ${runtime.queues.map((q) => q.pool).join(', ')}`,
    );
  }
  return {
    queue,
    ...(e.RUNPLANE_WORKER_CONCURRENCY !== undefined ? { concurrency: e.RUNPLANE_WORKER_CONCURRENCY } : {}),
    drainSeconds: e.RUNPLANE_WORKER_DRAIN_SECONDS,
    idleExitSeconds: e.RUNPLANE_WORKER_IDLE_EXIT_SECONDS,
    ...(e.RUNPLANE_WORKER_HEARTBEAT_FILE ? { heartbeatFile: e.RUNPLANE_WORKER_HEARTBEAT_FILE } : {}),
    ...(e.RUNPLANE_WORKER_WORKDIR ? { workDir: e.RUNPLANE_WORKER_WORKDIR } : {}),
    pricing: loadWorkerPricing(env),
  };
}
