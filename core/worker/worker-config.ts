import * as z from 'zod';
import { ConfigError, type RuntimeConfig, type RuntimeQueue } from '../config.ts';

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

export interface WorkerConfig {
  readonly queue: RuntimeQueue;
  /** Undefined: one job per GPU, or 1 without GPUs (decided once the GPUs are detected). */
  readonly concurrency?: number;
  readonly drainSeconds: number;
  readonly idleExitSeconds: number;
  readonly heartbeatFile?: string;
  readonly workDir?: string;
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
  };
}
