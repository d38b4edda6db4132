import { JobNotInStateError } from '../errors.ts';
import { parseArrayChildId, systemClock, type Clock } from '../ids.ts';
import { decideDependencies, dependencyHold, neverSatisfiedReason } from './dependency-decision.ts';
import { DEPENDENCY_NEVER_SATISFIED, holdingDependencies } from './dependencies.ts';
import type { Job, JobState } from './job.ts';
import type { JobStore } from './store.ts';

/** Who releases or fails a held job, for its audit entry and history. */
export const DEPENDENCY_ACTOR = 'system:dependencies';

export type SettleOutcome = 'released' | 'failed' | 'waiting' | 'not-held';

export interface DependencyReleaseOptions {
  readonly store: JobStore;
  /** Gets a released job going: JobService.dispatch (a message today, the scheduler's pending list after it). */
  readonly dispatch: (job: Job) => Promise<unknown>;
  readonly clock?: Clock;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
  /** Held dependents settled at once when a dependency finishes (each is a few reads and one transaction). */
  readonly concurrency?: number;
  /** Told of an array child this release failed, so its parent's state follows (ArrayCoordinator.childChanged). */
  readonly childEnded?: (job: Job) => Promise<void>;
}

/**
 * Carries out what the dependency decisions say for held jobs (dependency-decision.ts):
 *
 * - `dependencyFinished(job)`: called by the job store after every write of a final state (the
 *   worker's finish, a cancel of a queued job, recovery, a dead letter, a dependent failed here):
 *   each held job that named it (edge items, `dependents` GSI) is settled.
 * - `settle(job)`: the job's dependencies are read (strongly consistent) and decided. All satisfied:
 *   `releaseHold` then dispatch. One never satisfiable: `failHeldJob` (whose own final state settles
 *   its dependents in turn). Still waiting: the hold's message is brought up to date.
 *
 * Exactly once: both writes are conditional on the hold (state-machine.ts `held`), so of two
 * settlers racing (the finisher of one dependency, the finisher of another, the submit's re-check,
 * the sweep) one writes and the others find the job no longer held and do nothing, dispatch included.
 * Any step that fails (a crash, a throttled write) is repaired by the maintenance sweep, which
 * settles every held job (`held` GSI).
 */
export class DependencyRelease {
  private readonly store: JobStore;
  private readonly dispatch: (job: Job) => Promise<unknown>;
  private readonly clock: Clock;
  private readonly log: (message: string, fields?: Record<string, unknown>) => void;
  private readonly concurrency: number;
  private readonly childEnded: ((job: Job) => Promise<void>) | undefined;

  constructor(options: DependencyReleaseOptions) {
    this.store = options.store;
    this.dispatch = options.dispatch;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => undefined);
    this.concurrency = options.concurrency ?? 8;
    this.childEnded = options.childEnded;
  }

  /** Settles every held job that depends on `dependency`, which just reached a final state. */
  async dependencyFinished(dependency: Pick<Job, 'id'>): Promise<void> {
    let cursor: string | undefined;
    do {
      const page = await this.store.listDependents(dependency.id, 100, cursor);
      await inBatches(page.items, this.concurrency, async (id) => {
        try {
          const job = await this.store.getJob(id);
          // No job: the edge of a create that failed. A job not held: settled already, or never held.
          if (job?.hold) await this.settle(job);
        } catch (err) {
          // One dependent's failure does not hold up the others; the sweep settles it later.
          this.log('could not settle a dependent; the maintenance sweep will', { jobId: id, dependency: dependency.id, error: String(err) });
        }
      });
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  private stateOf(id: string): Promise<JobState | undefined> {
    return dependencyState(this.store, id);
  }

  /** Decides a held job from its dependencies' states now, and acts on it (see the class comment). */
  async settle(job: Job): Promise<{ outcome: SettleOutcome; job: Job }> {
    if (job.state !== 'QUEUED' || !job.hold) return { outcome: 'not-held', job };
    const dependsOn = holdingDependencies(job);
    const ids = [...new Set(dependsOn.map((d) => d.job))];
    const found = await Promise.all(ids.map(async (id) => [id, await this.stateOf(id)] as const));
    const decision = decideDependencies(dependsOn, new Map<string, JobState | undefined>(found));
    const now = this.clock();
    try {
      switch (decision.kind) {
        case 'satisfied': {
          const released = await this.store.releaseHold(job, 'dependencies satisfied', DEPENDENCY_ACTOR, now);
          await this.dispatch(released);
          return { outcome: 'released', job: released };
        }
        case 'never': {
          const reason = neverSatisfiedReason(decision);
          const failed = await this.store.failHeldJob(job, { code: DEPENDENCY_NEVER_SATISFIED, reason }, DEPENDENCY_ACTOR, now);
          // An array child's end moves its parent's counts in that write; the parent follows here.
          if (failed.arrayChild) await this.childEnded?.(failed);
          return { outcome: 'failed', job: failed };
        }
        case 'waiting': {
          const hold = dependencyHold(decision.on);
          if (hold.message !== job.hold.message) await this.store.rewriteHold(job.id, hold);
          return { outcome: 'waiting', job: { ...job, hold } };
        }
      }
    } catch (err) {
      if (!(err instanceof JobNotInStateError)) throw err;
      // Another settler got there first (or the job was cancelled): it acted, we do nothing.
      this.log('held job settled by another writer', { jobId: job.id });
      return { outcome: 'not-held', job: (await this.store.getJob(job.id)) ?? job };
    }
  }
}

/**
 * A dependency's state. A child of an array not materialised yet (aftercorr's partner) is QUEUED,
 * as its parent counts it, or CANCELLED once its parent's cancel counted it so; absent otherwise.
 */
async function dependencyState(store: JobStore, id: string): Promise<JobState | undefined> {
  const job = await store.getJob(id);
  if (job) return job.state;
  const link = parseArrayChildId(id);
  if (!link) return undefined;
  const parent = await store.getJob(link.parentId);
  if (!parent?.array || link.index >= parent.array.size) return undefined;
  return parent.state === 'CANCELLED' || parent.cancelRequested ? 'CANCELLED' : 'QUEUED';
}

/** Runs `task` over `items`, at most `size` at a time. */
async function inBatches<T>(items: readonly T[], size: number, task: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(task));
}
