import { WORKER_SEEN_WITHIN_MS } from '../jobs/waiting-reason.ts';
import type { WorkerRecord } from '../workers/registry.ts';
import type { WorkerCapacity } from './decide-admissions.ts';

/**
 * A job that holds (RUNNING, on `workerId`) or was promised (admitted to `workerId`'s inbox, or
 * admitted without a placement: null) capacity.
 */
export interface CapacityUse {
  readonly workerId: string | null;
  readonly gpus: number;
}

/**
 * The free capacity of a pool's live workers (pure): each live, non-draining worker's slots and
 * GPUs, minus the RUNNING jobs its lease says it runs and the jobs admitted to it, minus the
 * admitted jobs without a placement placed best-fit the way the decision placed them. An admitted
 * job whose worker is gone, or that fits no live worker, counts nowhere (the admission sweeper
 * puts it back on the pending list).
 */
export function poolCapacity(workers: readonly WorkerRecord[], uses: readonly CapacityUse[], now: Date): WorkerCapacity[] {
  const live = workers.filter((w) => !w.draining && now.getTime() - new Date(w.lastSeenAt).getTime() <= WORKER_SEEN_WITHIN_MS);
  const free = new Map(live.map((w) => [w.workerId, { workerId: w.workerId, freeSlots: w.concurrency, freeGpus: w.gpus.length, totalGpus: w.gpus.length }]));
  const unplaced: CapacityUse[] = [];
  for (const use of uses) {
    const on = use.workerId === null ? undefined : free.get(use.workerId);
    if (!on) {
      if (use.workerId === null) unplaced.push(use);
      continue;
    }
    on.freeSlots -= 1;
    on.freeGpus -= use.gpus;
  }
  for (const use of unplaced) {
    const fit = [...free.values()].filter((w) => w.freeSlots > 0 && w.freeGpus >= use.gpus).sort((a, b) => a.freeGpus - b.freeGpus)[0];
    if (!fit) continue;
    fit.freeSlots -= 1;
    fit.freeGpus -= use.gpus;
  }
  return [...free.values()].map((w) => ({ ...w, freeSlots: Math.max(0, w.freeSlots), freeGpus: Math.max(0, w.freeGpus) }));
}
