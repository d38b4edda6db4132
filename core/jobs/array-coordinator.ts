import { JobNotFoundError, JobNotInStateError, NotCancellableError } from '../errors.ts';
import { parseArrayChildId, systemClock, type Clock } from '../ids.ts';
import { arrayChildJob, nextMaterialisation, nextParentTransition, unfinishedCount } from './array-progress.ts';
import { signedChildOf } from './dispatch-signature.ts';
import type { Job } from './job.ts';
import type { JobStore } from './store.ts';

export interface ArrayCoordinatorDependencies {
  readonly store: JobStore;
  /** Gets a newly materialised (QUEUED) child going: JobService.dispatch, or the queue's send in a worker. */
  readonly dispatch: (job: Job) => Promise<unknown>;
  /**
   * The re-check of a child made held on its aftercorr partner (DependencyRelease.settle): a
   * partner that ended before the child's edge existed is seen here. None: the sweep settles it.
   */
  readonly settle?: (job: Job) => Promise<unknown>;
  readonly clock?: Clock;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

export interface AdvanceOptions {
  /** Who the parent's audited changes name; `system:array` by default. */
  readonly actor?: string;
  /** Also cancel the unfinished children of a cancelled parent (the sweep finishing a cancel). */
  readonly cancelChildren?: boolean;
  /**
   * At most this many materialisation transactions (the submit and each child's end write one, so
   * a request stays short; the sweep writes as many as the window allows).
   */
  readonly maxBatches?: number;
}

/** What one `advance` did, for the sweep's report and the tests. */
export interface AdvanceResult {
  readonly parent: Job | undefined;
  readonly materialised: number;
  readonly cancelled: number;
}

/** Rounds of read-decide-write per advance: each lost race means another writer made progress. */
const MAX_ROUNDS = 50;

/**
 * Carries an array parent forward: puts its state where its children's counts say
 * (array-progress.ts), materialises the next children as the throttle admits them, and cancels
 * children of a cancelled parent. Every write is conditional on what was read, so any number of
 * coordinators may run at once (the submit, each child's worker, the maintenance sweep): a lost race
 * is read again, never applied twice.
 */
export class ArrayCoordinator {
  private readonly store: JobStore;
  private readonly dispatch: (job: Job) => Promise<unknown>;
  private readonly settle: ((job: Job) => Promise<unknown>) | undefined;
  private readonly clock: Clock;
  private readonly log: (message: string, fields?: Record<string, unknown>) => void;

  constructor(deps: ArrayCoordinatorDependencies) {
    this.store = deps.store;
    this.dispatch = deps.dispatch;
    this.settle = deps.settle;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? (() => undefined);
  }

  /** After a child changed state (its claim, its end): its parent follows. Never throws. */
  async childChanged(child: Pick<Job, 'id'>): Promise<void> {
    const link = parseArrayChildId(child.id);
    if (!link) return;
    try {
      await this.advance(link.parentId, { maxBatches: 1 });
    } catch (err) {
      // The sweep is the safety net: it advances every array with work left.
      this.log('array parent not advanced; the sweep will', { parentId: link.parentId, error: String(err) });
    }
  }

  /**
   * One pass over the parent: state, then materialisation (unless `materialise` is false), then, for
   * a cancelled parent, cancels of unfinished children (`cancelChildren`).
   */
  async advance(parentId: string, options: AdvanceOptions = {}): Promise<AdvanceResult> {
    const actor = options.actor ?? 'system:array';
    let materialised = 0;
    let batches = 0;
    let parent = await this.store.getJob(parentId);
    for (let round = 0; parent?.array && round < MAX_ROUNDS; round++) {
      const transition = nextParentTransition(parent);
      if (transition) {
        parent = await this.orReread(parentId, () => this.store.transitionArrayParent(parent!, { ...transition, actor, now: this.clock() }));
        continue;
      }
      const batch = nextMaterialisation(parent);
      if (!batch || batches >= (options.maxBatches ?? Number.POSITIVE_INFINITY)) break;
      batches++;
      const now = this.clock();
      const children = Array.from({ length: batch.count }, (_, i) => signedChildOf(parent!, arrayChildJob(parent!, batch.from + i, now)));
      if (await this.store.materialiseArrayChildren(parent, children)) {
        materialised += children.length;
        // Runnable children are stored pending: a kick lost here is repaired by the periodic pass.
        // Held ones (aftercorr) are re-checked once, as a submit's held job is.
        await Promise.all(children.map((child) => (child.hold ? this.recheck(child) : this.dispatch(child))));
      }
      parent = await this.store.getJob(parentId);
    }
    let cancelled = 0;
    if (parent?.array && parent.state === 'CANCELLED') {
      if (options.cancelChildren) cancelled = await this.cancelUnfinishedChildren(parent, parent.cancelRequestedBy ?? actor);
      if (unfinishedCount(parent.array.status) === 0) await this.store.retireArray(parent);
    }
    return { parent, materialised, cancelled };
  }

  /**
   * Cancels the parent (its unmaterialised children counted CANCELLED in the same write, none
   * materialised after) and then every materialised child still QUEUED or RUNNING.
   */
  async cancel(parent: Job, actor: string): Promise<Job> {
    let current: Job | undefined = parent;
    for (let round = 0; current?.array && round < MAX_ROUNDS; round++) {
      if (current.state === 'CANCELLED') break;
      if (current.state !== 'QUEUED' && current.state !== 'RUNNING') throw new NotCancellableError(current.id, current.state);
      const from = current;
      current = await this.orReread(from.id, () => this.store.transitionArrayParent(from, { name: 'cancelArray', to: 'CANCELLED', actor, now: this.clock(), reason: `cancelled by ${actor}` }));
    }
    if (!current) throw new JobNotFoundError(parent.id);
    await this.cancelUnfinishedChildren(current, actor);
    return (await this.store.getJob(parent.id)) ?? current;
  }

  /** Every materialised child still QUEUED or RUNNING: cancelled (QUEUED) or flagged for its worker (RUNNING). */
  private async cancelUnfinishedChildren(parent: Job, actor: string): Promise<number> {
    let cursor: string | undefined;
    let cancelled = 0;
    do {
      const page = await this.store.listArrayChildren({ parentId: parent.id, states: ['QUEUED', 'RUNNING'], limit: 90, ...(cursor ? { cursor } : {}) });
      const queued = page.items.filter((c) => c.state === 'QUEUED');
      // The queued ones in one write (each child's cancel moves the parent's counts, and one by one
      // those writes would queue behind each other on the parent item); one by one only if that lost a race.
      const batched = new Set(await this.store.cancelQueuedChildren(parent, queued, actor, this.clock()));
      cancelled += batched.size;
      const rest = page.items.filter((c) => (c.state === 'RUNNING' ? !c.cancelRequested : !batched.has(c.id)));
      const results = await Promise.allSettled(rest.map((child) => this.store.requestCancel(child.id, actor, this.clock())));
      for (const result of results) {
        if (result.status === 'fulfilled') cancelled++;
        else if (!(result.reason instanceof NotCancellableError)) this.log('could not cancel an array child', { parentId: parent.id, error: String(result.reason) });
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return cancelled;
  }

  /** A held child's re-check; a failure is left to the sweep, which settles every held job. */
  private async recheck(child: Job): Promise<void> {
    try {
      await this.settle?.(child);
    } catch (err) {
      this.log('held array child not re-checked; the sweep will', { jobId: child.id, error: String(err) });
    }
  }

  /** The write, or the parent as it is now when another writer changed it first. */
  private async orReread(parentId: string, write: () => Promise<Job>): Promise<Job | undefined> {
    try {
      return await write();
    } catch (err) {
      if (err instanceof JobNotInStateError) return this.store.getJob(parentId);
      throw err;
    }
  }
}
