import { systemClock, type Clock } from '../ids.ts';
import type { Job } from '../jobs/job.ts';
import type { JobStore, Page } from '../jobs/store.ts';
import { WORKER_SEEN_WITHIN_MS, type Waiting, type WaitingBoard, type WaitingBoards } from '../jobs/waiting-reason.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import type { WorkerRegistry } from '../workers/registry.ts';
import { decideAdmissions, type GroupLoad, type PendingJob } from './decide-admissions.ts';
import type { GroupSchedulingState, GroupStates } from './group-states.ts';
import { poolCapacity, type CapacityUse } from './pool-capacity.ts';

export interface SchedulerDependencies {
  readonly store: Pick<JobStore, 'listPendingHeads' | 'listHoldings' | 'admitJob' | 'unadmitJob'>;
  readonly queue: Pick<JobQueue, 'enqueue'>;
  readonly registry: Pick<WorkerRegistry, 'listWorkers'>;
  readonly groups: GroupStates;
  /** Where each pass posts why the jobs it looked at wait (`waiting`); none: not posted. */
  readonly boards?: WaitingBoards;
  readonly clock?: Clock;
  readonly log?: (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;
  /** Pending jobs read per group and pass (the head and its backfill candidates). */
  readonly headsPerGroup?: number;
}

export interface PassReport {
  readonly pool: string;
  readonly admitted: readonly string[];
  /** Pending jobs read (over every group). */
  readonly considered: number;
  /** The earliest retry backoff end among the jobs read, when a pass must run then (epoch ms). */
  readonly wakeAtMs: number | null;
  /** Milliseconds the decision itself took (the pure part, no I/O). */
  readonly decisionMs: number;
}

export const DEFAULT_HEADS_PER_GROUP = 10;
const BOARD_REFRESH_MS = 20_000;
/**
 * How long a group the passes saw pending work of stays on the list whose states a pass reads with
 * its other reads: a group whose last job just started is usually back within minutes, and a state
 * read after the heads is a round trip on the submit → start path.
 */
const KNOWN_GROUP_MS = 10 * 60_000;

async function allItems(list: (cursor?: string) => Promise<Page<Job>>): Promise<Job[]> {
  const out: Job[] = [];
  let cursor: string | undefined;
  do {
    const page = await list(cursor);
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

/**
 * One scheduling pass of a pool (specs/11-scheduling.md): read its live capacity, the heads of
 * each group's pending jobs and the groups' states; decide (decideAdmissions, pure); admit each
 * chosen job with a conditional write and send its message to the inbox of the worker it was
 * placed on. Concurrent passes (or a stale registry) may both admit
 * against the same free capacity: the worker that receives a job it cannot run puts it back on
 * the pending list, so over-admission costs a round trip, never a receive or a failed job.
 */
export class Scheduler {
  private readonly clock: Clock;
  private readonly log: NonNullable<SchedulerDependencies['log']>;
  private readonly headsPerGroup: number;
  /** Per pool, the groups its passes saw pending work of (and when last), whose states a pass reads with everything else. */
  private readonly knownGroups = new Map<string, Map<string, number>>();
  /**
   * Per pool, the last waiting board this scheduler wrote or read: the next pass compares with it
   * instead of reading the board again. Trusted for BOARD_REFRESH_MS, as long as a board that says
   * the same is left unwritten; another process's pass (a second scheduler) may have written since,
   * which costs at most a board that is that old.
   */
  private readonly boards = new Map<string, WaitingBoard>();

  constructor(private readonly deps: SchedulerDependencies) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? (() => undefined);
    this.headsPerGroup = deps.headsPerGroup ?? DEFAULT_HEADS_PER_GROUP;
  }

  async pass(pool: string): Promise<PassReport> {
    const { store, registry } = this.deps;
    const now = this.clock();
    // Every read at once (the holdings' two in a row, the longest): the groups' states are read
    // for the groups the last pass saw, and only a group new since then costs a read once the
    // heads name it.
    const known = this.knownGroupsOf(pool, now);
    const [workers, { running, admitted }, heads, knownStates] = await Promise.all([
      registry.listWorkers(pool, WORKER_SEEN_WITHIN_MS, now),
      this.holdings(pool),
      store.listPendingHeads(pool, this.headsPerGroup),
      known.length > 0 ? this.deps.groups.get(known, now) : new Map<string, GroupSchedulingState>(),
    ]);
    const missing = [...heads.keys()].filter((g) => !knownStates.has(g));
    const groups = missing.length > 0 ? new Map([...knownStates, ...(await this.deps.groups.get(missing, now))]) : knownStates;
    const seen = this.knownGroups.get(pool) ?? new Map<string, number>();
    for (const group of heads.keys()) seen.set(group, now.getTime());
    this.knownGroups.set(pool, seen);
    const uses: CapacityUse[] = [
      ...running.map((j) => ({ workerId: j.lease?.workerId ?? null, gpus: j.resources.gpus })),
      ...admitted.map((j) => ({ workerId: j.admittedTo ?? null, gpus: j.resources.gpus })),
    ];
    const started = performance.now();
    const decision = decideAdmissions({
      now,
      queue: pool,
      workers: poolCapacity(workers, uses, now),
      pending: heads,
      groups,
      loads: groupLoads(running, admitted, now),
      arrays: activeArrayChildren(running, admitted),
    });
    const decisionMs = performance.now() - started;
    const inboxes = new Map(workers.flatMap((w) => (w.inbox ? [[w.workerId, w.inbox] as const] : [])));
    const admittedIds = (
      await Promise.all(decision.admit.map(({ job, workerId }) => this.admit(pool, job, now, workerId, inboxes.get(workerId))))
    ).filter((id): id is string => id !== null);
    const considered = [...heads.values()].reduce((n, jobs) => n + jobs.length, 0);
    await this.postBoard(pool, decision.waiting, now);
    return { pool, admitted: admittedIds, considered, wakeAtMs: wakeAt(heads, now), decisionMs };
  }

  /** Groups seen within KNOWN_GROUP_MS (older ones are forgotten). */
  private knownGroupsOf(pool: string, now: Date): string[] {
    const seen = this.knownGroups.get(pool);
    if (!seen) return [];
    for (const [group, at] of seen) if (now.getTime() - at > KNOWN_GROUP_MS) seen.delete(group);
    return [...seen.keys()];
  }

  /**
   * What the pool's jobs hold, each job once, from one list (decision 19): an admitted job stays on
   * it through its claim, so a claim during the read can neither hide it (its capacity handed out
   * again) nor show it twice (fair share charging a group for GPUs it does not hold), as two lists
   * read one after the other could. (The index is eventually consistent in DynamoDB, so there a
   * view can still miss an admission made a moment ago: over-admission costs a put-back.)
   */
  private async holdings(pool: string): Promise<{ running: Job[]; admitted: Job[] }> {
    const holdings = await allItems((c) => this.deps.store.listHoldings(pool, 100, c));
    return { running: holdings.filter((j) => j.state === 'RUNNING'), admitted: holdings.filter((j) => j.state !== 'RUNNING') };
  }

  /**
   * To the inbox of the worker the decision placed it on (decision 12): only that worker receives
   * it, so a worker that cannot fit it never sees it. A worker without an inbox shares the pool's queue.
   */
  private async admit(pool: string, job: PendingJob, now: Date, workerId: string, inbox: string | undefined): Promise<string | null> {
    // The admission and the message at once (decision 20): the message is only ever a hint, and
    // the claim's condition, not the admission, decides whether a job runs. The placement is stored
    // with the admission, so the next passes count it on that worker.
    const [admitted, sent] = await Promise.allSettled([
      this.deps.store.admitJob(job, now, inbox === undefined ? undefined : workerId),
      this.deps.queue.enqueue(pool, { jobId: job.id }, inbox === undefined ? {} : { inbox }),
    ]);
    if (sent.status === 'rejected') {
      // Not sent: back on the pending list for the next pass (the sweeper would do it after its grace).
      this.log('warn', 'could not send an admitted job; back to pending', { jobId: job.id, error: String(sent.reason) });
      if (admitted.status === 'fulfilled' && admitted.value) await this.deps.store.unadmitJob(job).catch(() => false);
      return null;
    }
    if (admitted.status === 'rejected') {
      // Sent, admission unknown: a worker claims the job from pending or admitted alike, and an
      // admission that did land and is never claimed is the admission sweeper's.
      this.log('warn', 'could not record an admission; its message was sent', { jobId: job.id, error: String(admitted.reason) });
      return null;
    }
    // False: a concurrent pass, a cancel, or the worker claimed it first; the message it got is spent harmlessly.
    return admitted.value ? job.id : null;
  }

  /** `since` carries over from the previous board while a job keeps its code. */
  private async postBoard(pool: string, waiting: ReadonlyMap<string, Omit<Waiting, 'since'>>, now: Date): Promise<void> {
    const boards = this.deps.boards;
    if (!boards) return;
    try {
      const cached = this.boards.get(pool);
      const previous = cached && now.getTime() - new Date(cached.at).getTime() < BOARD_REFRESH_MS ? cached : await boards.read(pool);
      if (previous && previous !== cached) this.boards.set(pool, previous);
      const at = now.toISOString();
      const jobs: Record<string, Waiting> = {};
      for (const [id, w] of waiting) {
        const before = previous?.jobs[id];
        jobs[id] = { ...w, since: before && before.code === w.code ? before.since : at };
      }
      const board: WaitingBoard = { at, jobs };
      // A board that says the same as the last one is rewritten only every BOARD_REFRESH_MS, so
      // frequent passes do not rewrite a few KB each ("updated within 30 s").
      const fresh = previous && now.getTime() - new Date(previous.at).getTime() < BOARD_REFRESH_MS;
      if (fresh && JSON.stringify(previous.jobs) === JSON.stringify(jobs)) return;
      this.boards.delete(pool);
      await boards.write(pool, board);
      this.boards.set(pool, board);
    } catch (err) {
      this.log('warn', 'could not post the waiting board', { pool, error: String(err) });
    }
  }
}

/** What each group holds on the pool (running and admitted jobs), and its running jobs' GPU-seconds so far. */
function groupLoads(running: readonly Job[], admitted: readonly Job[], now: Date): Map<string, GroupLoad> {
  const loads = new Map<string, { -readonly [K in keyof GroupLoad]: GroupLoad[K] }>();
  const of = (group: string) => {
    let load = loads.get(group);
    if (!load) loads.set(group, (load = { admittedJobs: 0, admittedGpus: 0, runningJobs: 0, runningGpus: 0, runningGpuSeconds: 0 }));
    return load;
  };
  for (const job of running) {
    const since = job.startedAt ? new Date(job.startedAt).getTime() : now.getTime();
    const load = of(job.group);
    load.runningJobs += 1;
    load.runningGpus += job.resources.gpus;
    load.runningGpuSeconds += (job.resources.gpus * Math.max(0, now.getTime() - since)) / 1000;
  }
  for (const job of admitted) {
    const load = of(job.group);
    load.admittedJobs += 1;
    load.admittedGpus += job.resources.gpus;
  }
  return loads;
}

/** Per array parent, its children running or admitted (the array throttle's count). */
function activeArrayChildren(running: readonly Job[], admitted: readonly Job[]): Map<string, number> {
  const active = new Map<string, number>();
  for (const job of [...running, ...admitted.filter((j) => j.state === 'QUEUED')]) {
    const parentId = job.arrayChild?.parentId;
    if (parentId) active.set(parentId, (active.get(parentId) ?? 0) + 1);
  }
  return active;
}

function wakeAt(heads: ReadonlyMap<string, readonly PendingJob[]>, now: Date): number | null {
  let earliest: number | null = null;
  for (const jobs of heads.values()) {
    for (const job of jobs) {
      const at = job.retryAt ? new Date(job.retryAt).getTime() : NaN;
      if (at > now.getTime() && (earliest === null || at < earliest)) earliest = at;
    }
  }
  return earliest;
}
