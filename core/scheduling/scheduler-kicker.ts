import type { JobAdmission } from '../jobs/job-admission.ts';
import type { Job } from '../jobs/job.ts';
import type { JobStore } from '../jobs/store.ts';
import type { PassReport } from './scheduler.ts';

/** Asks for a scheduling pass of a pool: now, or after `afterMs`. Never throws, never waits for the pass. */
export interface SchedulerKick {
  kick(pool: string, afterMs?: number): void;
}

interface PoolState {
  running: Promise<void> | null;
  again: boolean;
  timer: NodeJS.Timeout | null;
  timerAt: number;
}

/**
 * Runs passes in this process, coalesced per pool: a kick during a pass runs one more pass after
 * it (never two at once, never a kick lost), and a delayed kick keeps only the earliest timer. A
 * pass that found a retry whose backoff ends later sets a timer for then. The local platform runs
 * one for every pool (its API and workers kick it); a standalone worker runs its own.
 */
export class InProcessScheduler implements SchedulerKick, JobAdmission {
  private readonly pools = new Map<string, PoolState>();
  private stopped = false;

  constructor(
    private readonly pass: (pool: string) => Promise<PassReport>,
    private readonly options: {
      readonly store?: Pick<JobStore, 'unadmitJob'>;
      readonly log?: (message: string, fields?: Record<string, unknown>) => void;
      readonly onPass?: (report: PassReport) => void;
    } = {},
  ) {}

  kick(pool: string, afterMs = 0): void {
    if (this.stopped) return;
    const state = this.state(pool);
    if (afterMs > 0) {
      const at = Date.now() + afterMs;
      if (state.timer && state.timerAt <= at) return;
      if (state.timer) clearTimeout(state.timer);
      state.timerAt = at;
      state.timer = setTimeout(() => {
        state.timer = null;
        this.kick(pool);
      }, afterMs);
      state.timer.unref();
      return;
    }
    if (state.running) {
      state.again = true;
      return;
    }
    state.running = this.runPasses(pool, state);
  }

  async runnable(job: Pick<Job, 'id' | 'queue' | 'attempt'>): Promise<boolean> {
    this.kick(job.queue);
    return true;
  }

  /** An admission nobody claimed in time (its worker vanished, its message was lost): pending again. */
  async unclaimed(job: Job): Promise<boolean> {
    const back = (await this.options.store?.unadmitJob(job)) ?? false;
    this.kick(job.queue);
    return back;
  }

  /** Resolves once no pass runs and none is due now (tests and benchmarks wait on it). */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.pools.values()].map((s) => s.running).filter((p): p is Promise<void> => p !== null);
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const state of this.pools.values()) if (state.timer) clearTimeout(state.timer);
    await this.idle();
  }

  private state(pool: string): PoolState {
    let state = this.pools.get(pool);
    if (!state) this.pools.set(pool, (state = { running: null, again: false, timer: null, timerAt: 0 }));
    return state;
  }

  private async runPasses(pool: string, state: PoolState): Promise<void> {
    try {
      do {
        state.again = false;
        try {
          const report = await this.pass(pool);
          this.options.onPass?.(report);
          if (report.wakeAtMs !== null) this.kick(pool, Math.max(1, report.wakeAtMs - Date.now()));
        } catch (err) {
          // The periodic pass is the safety net; one failed pass loses nothing.
          this.options.log?.('scheduling pass failed', { pool, error: String(err) });
        }
      } while (state.again && !this.stopped);
    } finally {
      state.running = null;
    }
  }
}
