import { systemClock, type Clock } from '../ids.ts';
import type { PassLease } from './pass-lease.ts';
import type { PassReport } from './scheduler.ts';

export interface LeasedPassesDependencies {
  readonly lease: PassLease;
  readonly pass: (pool: string) => Promise<PassReport>;
  /** Asks for a pass of the pool after `afterMs` (0: now): a retry's backoff end, or work left when time ran out. */
  readonly kick: (pool: string, afterMs: number) => Promise<void>;
  /** Who runs the passes (one per invocation). */
  readonly holder: string;
  readonly clock?: Clock;
  /** Lease length: longer than any one pass takes, so a live holder never loses it mid-pass. */
  readonly leaseMs?: number;
  /** No pass starts after this (epoch ms): the invocation's own deadline less a margin. */
  readonly deadlineMs?: number;
}

export interface LeasedRun {
  readonly pool: string;
  /** `deferred`: another invocation held the lease and runs one more pass for this kick. */
  readonly outcome: 'ran' | 'deferred';
  readonly reports: readonly PassReport[];
}

export const DEFAULT_PASS_LEASE_MS = 30_000;

/**
 * The passes of one pool under its lease (specs/11-scheduling.md decision 12): take the lease or
 * leave a mark for its holder; run a pass; run another while kicks came during the last one; then
 * free the lease. A pass that failed frees the lease and throws (the kick is retried); time running
 * out with a kick still pending frees the lease and kicks again, so no kick is lost either way.
 */
export async function runLeasedPasses(pool: string, deps: LeasedPassesDependencies): Promise<LeasedRun> {
  const clock = deps.clock ?? systemClock;
  const leaseMs = deps.leaseMs ?? DEFAULT_PASS_LEASE_MS;
  const { lease, holder } = deps;
  if (!(await lease.acquire(pool, holder, clock(), leaseMs))) return { pool, outcome: 'deferred', reports: [] };
  const reports: PassReport[] = [];
  try {
    for (;;) {
      reports.push(await deps.pass(pool));
      if ((await lease.release(pool, holder, clock(), leaseMs)) !== 'again') break;
      if (deps.deadlineMs !== undefined && clock().getTime() >= deps.deadlineMs) {
        await lease.abandon(pool, holder);
        await deps.kick(pool, 0);
        break;
      }
    }
  } catch (err) {
    await lease.abandon(pool, holder).catch(() => undefined);
    throw err;
  }
  // The in-process scheduler sets a timer for a retry's backoff end; here it is a delayed kick.
  const wakeAtMs = reports.at(-1)?.wakeAtMs ?? null;
  if (wakeAtMs !== null) await deps.kick(pool, Math.max(1, wakeAtMs - clock().getTime()));
  return { pool, outcome: 'ran', reports };
}
