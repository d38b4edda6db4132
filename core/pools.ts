import * as z from 'zod';
import { DEFAULT_QUEUES, POOL_NAME_PATTERN, queueDefinition, type QueueDefinition } from './resources.ts';

/**
 * Worker pools, declared once. Each pool is one SQS queue (named after the pool, settings from
 * core/resources.ts) served by one ECS service whose tasks run on one EC2 instance type. The CDK
 * stack turns every entry into a capacity provider, a service and a task definition; the scaler
 * reads the same bounds.
 *
 * One worker task per instance: a task reserves (almost) the whole instance, and all of its GPUs,
 * so "instances" and "tasks" are the same number and the ECS capacity provider can derive the
 * instance count from the task count.
 */

// EC2 instance type names: family (with generation and attributes) dot size, e.g. g5.xlarge, p4d.24xlarge.
const INSTANCE_TYPE_PATTERN = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

export const workerPoolSchema = z
  .strictObject({
    /** Pool = queue name; jobs choose it with `queue`. */
    name: z.string().regex(POOL_NAME_PATTERN),
    /** The instance type tasks are sized for. */
    instanceType: z.string().regex(INSTANCE_TYPE_PATTERN),
    /**
     * Further types with the same GPUs and at least the same CPU and memory, which the Auto Scaling
     * group may launch instead (spot capacity is found more often across several types).
     */
    alternativeInstanceTypes: z.array(z.string().regex(INSTANCE_TYPE_PATTERN)).default([]),
    /** GPUs per instance; all of them go to the instance's one task. 0 = CPU pool (standard ECS AMI). */
    gpusPerInstance: z.number().int().min(0).max(16),
    minInstances: z.number().int().min(0),
    maxInstances: z.number().int().min(1).max(500),
    capacity: z.enum(['spot', 'on-demand']),
    /** Jobs one worker task runs at once (on a GPU pool, jobs asking for GPUs are further limited by free GPUs). */
    maxJobsPerTask: z.number().int().min(1).max(64),
    /** CPU units (1024 = 1 vCPU) the task reserves; leave some for the ECS agent. */
    taskCpuUnits: z.number().int().min(128),
    /** Memory the task reserves (a soft limit, so jobs may use more if the instance has it). */
    taskMemoryReservationMiB: z.number().int().min(128),
    /** Root volume (gp3, encrypted): images, job working directories and caches live here. */
    rootVolumeGiB: z.number().int().min(30).max(16_384).default(100),
    /**
     * Network mode of container jobs (`image`): `bridge` joins the job network whose firewall keeps
     * IMDS and the credentials endpoint out of reach (core/isolation/job-network.ts); `none` keeps
     * jobs off every network; `host` shares the instance's (and is refused nothing: use with care).
     */
    containerNetwork: z.enum(['none', 'bridge', 'host']).default('bridge'),
    /**
     * What one instance costs per hour in USD, for usage costs; absent: the price table's
     * (core/usage/instance-prices.ts) or the deployment's `runplane:instancePrices` override.
     */
    pricePerInstanceHourUsd: z.number().min(0).max(10_000).optional(),
    /** A worker with nothing to do for this long exits, so an instance left running by accident drains. */
    idleExitSeconds: z.number().int().min(30).default(600),
    /** Overrides of the pool's queue settings (core/resources.ts defaults otherwise). */
    queue: z
      .strictObject({
        visibilityTimeoutSeconds: z.number().int().min(1).max(43_200).optional(),
        maxReceiveCount: z.number().int().min(1).max(1000).optional(),
        messageRetentionSeconds: z.number().int().min(60).max(1_209_600).optional(),
        defaultMaxAttempts: z.number().int().min(1).optional(),
      })
      .default({}),
  })
  .refine((p) => p.minInstances <= p.maxInstances, { message: 'minInstances must not exceed maxInstances', path: ['minInstances'] })
  .refine((p) => !p.alternativeInstanceTypes.includes(p.instanceType), {
    message: 'must not repeat instanceType',
    path: ['alternativeInstanceTypes'],
  });

export type WorkerPoolInput = z.input<typeof workerPoolSchema>;
export type WorkerPool = z.output<typeof workerPoolSchema>;

/** Validates a pool list: each pool valid, names unique. Throws with the offending pool's path. */
export function defineWorkerPools(pools: readonly WorkerPoolInput[]): readonly WorkerPool[] {
  const parsed = z
    .array(workerPoolSchema)
    .min(1)
    .refine((ps) => new Set(ps.map((p) => p.name)).size === ps.length, 'pool names must be unique')
    .safeParse(pools);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(pools)'}: ${i.message}`).join('; ');
    throw new Error(`invalid worker pools: ${problems}`);
  }
  return parsed.data;
}

/**
 * The pools the stack deploys. Both scale to zero: an idle deployment runs no instances.
 * x86 everywhere: the ECS GPU-optimized AMI is x86_64, and one worker image (linux/amd64) serves
 * both pools.
 */
export const WORKER_POOLS: readonly WorkerPool[] = defineWorkerPools([
  {
    name: 'default',
    // 2 vCPU, 8 GiB: CPU jobs such as data preparation and evaluation glue.
    instanceType: 'm7i.large',
    alternativeInstanceTypes: [],
    gpusPerInstance: 0,
    minInstances: 0,
    maxInstances: 10,
    capacity: 'on-demand',
    maxJobsPerTask: 2,
    taskCpuUnits: 1792,
    // ECS registers about 7.6 GiB of the 8 GiB; the rest stays for the agent and the OS.
    taskMemoryReservationMiB: 6144,
    rootVolumeGiB: 50,
  },
  {
    name: 'gpu',
    // 1 x A10G (24 GB), 4 vCPU, 16 GiB. g6.xlarge (1 x L4, 24 GB, 4 vCPU, 16 GiB) is the spot fallback.
    instanceType: 'g5.xlarge',
    alternativeInstanceTypes: ['g6.xlarge'],
    gpusPerInstance: 1,
    minInstances: 0,
    maxInstances: 4,
    capacity: 'spot',
    maxJobsPerTask: 1,
    taskCpuUnits: 3584,
    taskMemoryReservationMiB: 12288,
  },
]);

/** The queue a pool's workers serve: the shared default definition for the pool, with the pool's overrides. */
export function poolQueueDefinition(pool: WorkerPool): QueueDefinition {
  const base = DEFAULT_QUEUES.find((q) => q.pool === pool.name);
  const overrides = Object.fromEntries(Object.entries(pool.queue).filter(([, v]) => v !== undefined));
  return queueDefinition(pool.name, { ...base, ...overrides });
}
