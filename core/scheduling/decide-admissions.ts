import type { Waiting, WaitingCode } from '../jobs/waiting-reason.ts';
import type { PendingJobSummary } from '../jobs/store.ts';
import type { GroupSchedulingState } from './group-states.ts';
import { quotaRefusal } from '../quota-refusal.ts';

/**
 * Which pending jobs of one queue to admit now (pure; specs/11-scheduling.md, decisions 4-7).
 *
 * 1. Fair share picks the group: the one with the least weighted use, (decayed GPU-seconds + the
 *    GPU-seconds its running jobs have used so far + a commitment charge per GPU it holds on the
 *    queue) ÷ weight.
 *    The charge splits a burst of free GPUs among groups instead of handing all to the first.
 * 2. Within a group: priority, then submit order (the order the pending index returns).
 * 3. Fit: a job goes to the live worker with the fewest free GPUs that still has its GPUs and a
 *    free slot (best fit keeps whole workers free for multi-GPU jobs).
 * 4. Array throttle: a child of an array with parallelism K waits (ArrayThrottle) while K of its
 *    array's children run or are admitted; it is not admitted, so it costs no receive.
 * 5. Backfill: a job that fits nowhere reserves the worker with the most free GPUs among those big
 *    enough for it; later (smaller) jobs may use any other worker but never a reserved one, so the
 *    reserved worker drains until the big job fits and it cannot be starved by a stream of small ones.
 *
 * Cost: O(C · G) for C candidates over G groups (G ≤ a few dozen; C = G × the heads read per group).
 */

/** Free capacity of one live worker after what runs on it and what was admitted for it. */
export interface WorkerCapacity {
  readonly workerId: string;
  readonly freeSlots: number;
  readonly freeGpus: number;
  /** GPUs the worker has in all: a job needing more waits for another worker (NoCapacity). */
  readonly totalGpus: number;
}

/** A pending job as the pending index projects it: only what decisions need. */
export type PendingJob = PendingJobSummary;

/**
 * What a group holds on this queue, from one view of its running and admitted lists (each job
 * counted once): fair share charges these. Quotas add the admitted ones to the group-wide counters.
 */
export interface GroupLoad {
  readonly admittedJobs: number;
  readonly admittedGpus: number;
  /** Its RUNNING jobs on this queue and their GPUs. */
  readonly runningJobs: number;
  readonly runningGpus: number;
  /** GPU-seconds used so far by its RUNNING attempts (not yet in decayedGpuSeconds). */
  readonly runningGpuSeconds: number;
}

export interface AdmissionInput {
  readonly now: Date;
  readonly queue: string;
  readonly workers: readonly WorkerCapacity[];
  /** Each group's first pending jobs, in the group's order (priority, then submit order). */
  readonly pending: ReadonlyMap<string, readonly PendingJob[]>;
  readonly groups: ReadonlyMap<string, GroupSchedulingState>;
  readonly loads?: ReadonlyMap<string, GroupLoad>;
  /** Per array parent, how many of its children run or are admitted now (none listed: 0). */
  readonly arrays?: ReadonlyMap<string, number>;
}

export interface Admission {
  readonly job: PendingJob;
  /** The worker the decision counted it against (any worker of the pool may receive its message). */
  readonly workerId: string;
}

export interface AdmissionDecision {
  readonly admit: readonly Admission[];
  /** Why each pending job read but not admitted waits, with its position among them. */
  readonly waiting: ReadonlyMap<string, Omit<Waiting, 'since'>>;
}

/** A GPU handed out counts as this many GPU-seconds of use until its job's real use overtakes it. */
export const COMMITMENT_GPU_SECONDS = 300;

const NO_LOAD: GroupLoad = { admittedJobs: 0, admittedGpus: 0, runningJobs: 0, runningGpus: 0, runningGpuSeconds: 0 };

interface GroupCursor {
  readonly name: string;
  readonly jobs: readonly PendingJob[];
  next: number;
  /** Group-wide, for quotas: the claim counters plus its admitted jobs. */
  heldGpus: number;
  heldJobs: number;
  /**
   * On this queue, for fair share: running plus admitted, from the lists the pass read. Not the
   * counters: a claim between the list reads and the counter read would count its job twice, and
   * the group with more claims (the heavier weight) would lose share to the lighter one.
   */
  shareGpus: number;
  shareJobs: number;
  used: number;
  readonly weight: number;
  readonly state: GroupSchedulingState;
}

function share(g: GroupCursor): number {
  return (g.used + COMMITMENT_GPU_SECONDS * g.shareGpus) / g.weight;
}

/** Fair-share order: least weighted use first; ties by fewer jobs held per weight, then oldest head. */
function pickGroup(groups: readonly GroupCursor[]): GroupCursor | undefined {
  let best: GroupCursor | undefined;
  for (const g of groups) {
    if (g.next >= g.jobs.length) continue;
    if (!best) {
      best = g;
      continue;
    }
    const d = share(g) - share(best) || g.shareJobs / g.weight - best.shareJobs / best.weight || (g.jobs[g.next]!.id < best.jobs[best.next]!.id ? -1 : 1);
    if (d < 0) best = g;
  }
  return best;
}

export function decideAdmissions(input: AdmissionInput): AdmissionDecision {
  const nowMs = input.now.getTime();
  const workers = input.workers.map((w) => ({ ...w, reservedFor: null as string | null }));
  const largestWorker = Math.max(0, ...workers.map((w) => w.totalGpus));
  const cursors: GroupCursor[] = [...input.pending].map(([name, jobs]) => {
    const state = input.groups.get(name) ?? { name, weight: 1, maxGpus: null, maxRunningJobs: null, runningGpus: 0, runningJobs: 0, decayedGpuSeconds: 0 };
    const load = input.loads?.get(name) ?? NO_LOAD;
    return {
      name,
      jobs,
      next: 0,
      heldGpus: state.runningGpus + load.admittedGpus,
      heldJobs: state.runningJobs + load.admittedJobs,
      shareGpus: load.runningGpus + load.admittedGpus,
      shareJobs: load.runningJobs + load.admittedJobs,
      used: state.decayedGpuSeconds + load.runningGpuSeconds,
      weight: state.weight > 0 ? state.weight : 1,
      state,
    };
  });
  const arrays = new Map(input.arrays ?? []);
  const admit: Admission[] = [];
  /** Jobs not admitted in decision order, with the code that says why. */
  const left: { job: PendingJob; code: WaitingCode; message: string }[] = [];
  for (let g = pickGroup(cursors); g; g = pickGroup(cursors)) {
    const job = g.jobs[g.next++]!;
    if (job.retryAt && new Date(job.retryAt).getTime() > nowMs) {
      left.push({ job, code: 'RetryBackoff', message: `waiting for retry backoff until ${job.retryAt}` });
      continue;
    }
    const throttle = job.arrayThrottle;
    const active = throttle ? (arrays.get(throttle.parentId) ?? 0) : 0;
    if (throttle && active >= throttle.parallelism) {
      left.push({
        job,
        code: 'ArrayThrottle',
        message: `array ${throttle.parentId} already runs ${active} of its children at once, its parallelism is ${throttle.parallelism}`,
      });
      continue;
    }
    const refusal = quotaRefusal({ ...g.state, name: g.name }, { jobs: g.heldJobs, gpus: g.heldGpus }, job.gpus);
    if (refusal) {
      left.push({ job, code: 'GroupQuota', message: refusal });
      continue;
    }
    if (job.gpus > largestWorker) {
      left.push({
        job,
        code: 'NoCapacity',
        message: `needs ${job.gpus} GPU(s); no live worker of queue "${input.queue}" has that many (${largestWorker} at most)`,
      });
      continue;
    }
    const fits = workers.filter((w) => w.reservedFor === null && w.freeSlots > 0 && w.freeGpus >= job.gpus);
    const chosen = fits.sort((a, b) => a.freeGpus - b.freeGpus)[0];
    if (!chosen) {
      // Reserve the worker closest to fitting it, so smaller jobs behind it cannot starve it.
      const big = workers.filter((w) => w.reservedFor === null && w.totalGpus >= job.gpus).sort((a, b) => b.freeGpus - a.freeGpus)[0];
      if (big && job.gpus > 0) big.reservedFor = job.id;
      left.push({ job, code: 'Resources', message: resourcesMessage(job, input.queue) });
      continue;
    }
    chosen.freeSlots -= 1;
    chosen.freeGpus -= job.gpus;
    g.heldGpus += job.gpus;
    g.heldJobs += 1;
    if (throttle) arrays.set(throttle.parentId, active + 1);
    g.shareGpus += job.gpus;
    g.shareJobs += 1;
    admit.push({ job, workerId: chosen.workerId });
  }
  return { admit, waiting: positions(left) };
}

function resourcesMessage(job: PendingJob, queue: string): string {
  return job.gpus > 0
    ? `waiting for ${job.gpus} free GPU(s) and a free slot on one worker of queue "${queue}"`
    : `waiting for a free slot on a worker of queue "${queue}"`;
}

/**
 * Positions among the jobs left, in decision order. A job that is not first keeps its own reason
 * when it has one (backoff, quota, no capacity); otherwise it waits for the jobs ahead of it: of
 * its own group (Priority) or of groups ahead by fair share (FairShare).
 */
function positions(left: readonly { job: PendingJob; code: WaitingCode; message: string }[]): Map<string, Omit<Waiting, 'since'>> {
  const out = new Map<string, Omit<Waiting, 'since'>>();
  let position = 0;
  const groupsAhead = new Set<string>();
  for (const { job, code, message } of left) {
    const runnable = code === 'Resources';
    if (!runnable) {
      out.set(job.id, { code, message, position: null });
      continue;
    }
    position++;
    if (position === 1) out.set(job.id, { code, message, position });
    else if (groupsAhead.has(job.group)) {
      out.set(job.id, { code: 'Priority', message: `behind ${position - 1} job(s) of the queue, of its own group or higher priority first`, position });
    } else {
      out.set(job.id, { code: 'FairShare', message: `groups further below their fair share of recent GPU use go first (position ${position})`, position });
    }
    groupsAhead.add(job.group);
  }
  return out;
}
