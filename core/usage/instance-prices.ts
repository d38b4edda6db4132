import type { InstancePricing } from './usage.ts';
import type { WorkerPool } from '../pools.ts';

/**
 * The price table usage costs come from (core/usage/usage.ts): per instance-hour in USD, us-east-1,
 * Linux, as published on aws.amazon.com/ec2/pricing in 2026. Spot prices move; the spot figure is
 * a typical recent price, for pools whose `capacity` is `spot`. A deployment states its own with
 * the `runplane:instancePrices` context (instance type → USD per hour), or a pool with
 * `pricePerInstanceHourUsd`; update here, nowhere else.
 */
export const INSTANCE_PRICES: Readonly<Record<string, { readonly vcpus: number; readonly onDemandUsd: number; readonly spotUsd: number }>> = {
  'm7i.large': { vcpus: 2, onDemandUsd: 0.1008, spotUsd: 0.045 },
  'm7i.xlarge': { vcpus: 4, onDemandUsd: 0.2016, spotUsd: 0.09 },
  'g5.xlarge': { vcpus: 4, onDemandUsd: 1.006, spotUsd: 0.45 },
  'g6.xlarge': { vcpus: 4, onDemandUsd: 0.8048, spotUsd: 0.38 },
  'g5.12xlarge': { vcpus: 48, onDemandUsd: 5.672, spotUsd: 2.4 },
  'g6.12xlarge': { vcpus: 48, onDemandUsd: 4.6016, spotUsd: 2.0 },
  'p4d.24xlarge': { vcpus: 96, onDemandUsd: 32.7726, spotUsd: 12.0 },
  'p5.48xlarge': { vcpus: 192, onDemandUsd: 98.32, spotUsd: 40.0 },
};

/**
 * What a pool's instances cost and how they are shared: the pool's own price, else the
 * deployment's override for its instance type, else the table's (0 for a type it does not know, so
 * an unknown type costs nothing rather than a guess); vCPUs from the table, else the task's CPU
 * reservation rounded up.
 */
export function poolPricing(pool: WorkerPool, overrides: Readonly<Record<string, number>> = {}): InstancePricing {
  const known = INSTANCE_PRICES[pool.instanceType];
  const listed = known ? (pool.capacity === 'spot' ? known.spotUsd : known.onDemandUsd) : 0;
  return {
    usdPerInstanceHour: pool.pricePerInstanceHourUsd ?? overrides[pool.instanceType] ?? listed,
    gpus: pool.gpusPerInstance,
    vcpus: known?.vcpus ?? Math.ceil(pool.taskCpuUnits / 1024),
  };
}

/**
 * The worker's variables for its pricing (core/worker/worker-config.ts reads them back):
 * RUNPLANE_PRICE_PER_INSTANCE_HOUR, RUNPLANE_INSTANCE_GPUS, RUNPLANE_INSTANCE_VCPUS.
 */
export function pricingEnvironment(pricing: InstancePricing): Record<string, string> {
  return {
    RUNPLANE_PRICE_PER_INSTANCE_HOUR: String(pricing.usdPerInstanceHour),
    RUNPLANE_INSTANCE_GPUS: String(pricing.gpus),
    RUNPLANE_INSTANCE_VCPUS: String(pricing.vcpus),
  };
}
