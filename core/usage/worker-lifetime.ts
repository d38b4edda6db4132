import type { InstancePricing } from './usage.ts';

/**
 * How long a worker's instance ran, and at what price: what idle capacity is measured against
 * (core/usage/usage-report.ts). Workers' registry items vanish when they stop; these stay, in the
 * jobs table's `usage` GSI under one partition, sorted by when the worker was last seen.
 */
export interface WorkerLifetime extends InstancePricing {
  readonly workerId: string;
  readonly pool: string;
  readonly startedAt: string;
  readonly lastSeenAt: string;
}

export const WORKER_LIFETIME_PARTITION = 'WORKERLIFE';

export function workerLifetimeToItem(lifetime: WorkerLifetime): Record<string, unknown> {
  return { pk: `${WORKER_LIFETIME_PARTITION}#${lifetime.workerId}`, ...lifetime, usageKey: WORKER_LIFETIME_PARTITION, usageSortKey: lifetime.lastSeenAt };
}

export function itemToWorkerLifetime(item: Record<string, unknown>): WorkerLifetime {
  return {
    workerId: item.workerId as string,
    pool: item.pool as string,
    startedAt: item.startedAt as string,
    lastSeenAt: item.lastSeenAt as string,
    usdPerInstanceHour: (item.usdPerInstanceHour as number | undefined) ?? 0,
    gpus: (item.gpus as number | undefined) ?? 0,
    vcpus: (item.vcpus as number | undefined) ?? 0,
  };
}
