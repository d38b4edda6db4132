import { describe, expect, it } from 'vitest';
import type { PassLease } from '../../core/scheduling/pass-lease.ts';
import { runLeasedPasses } from '../../core/scheduling/leased-passes.ts';
import type { PassReport } from '../../core/scheduling/scheduler.ts';

/** A lease that answers from a script: how many `again`s its holder finds, whether it is held elsewhere. */
function scriptedLease(script: { held?: boolean; agains?: number }) {
  const calls: string[] = [];
  let agains = script.agains ?? 0;
  const lease: PassLease = {
    async acquire(pool, holder) {
      calls.push(`acquire ${pool} ${holder}`);
      return !script.held;
    },
    async release(pool) {
      calls.push(`release ${pool}`);
      if (agains > 0) {
        agains--;
        return 'again';
      }
      return 'released';
    },
    async abandon(pool) {
      calls.push(`abandon ${pool}`);
    },
  };
  return { lease, calls };
}

const report = (wakeAtMs: number | null = null): PassReport => ({ pool: 'gpu', admitted: [], considered: 0, wakeAtMs, decisionMs: 0 });

describe('runLeasedPasses', () => {
  it('runs one pass and frees the lease', async () => {
    const { lease, calls } = scriptedLease({});
    const kicks: [string, number][] = [];
    const run = await runLeasedPasses('gpu', { lease, holder: 'h', pass: async () => report(), kick: async (p, ms) => void kicks.push([p, ms]) });
    expect(run).toMatchObject({ outcome: 'ran', reports: [report()] });
    expect(calls).toEqual(['acquire gpu h', 'release gpu']);
    expect(kicks).toEqual([]);
  });

  it('leaves the pass to the holder when the lease is held (its mark makes the holder run one more)', async () => {
    const { lease, calls } = scriptedLease({ held: true });
    let passes = 0;
    const run = await runLeasedPasses('gpu', { lease, holder: 'h', pass: async () => (passes++, report()), kick: async () => undefined });
    expect(run).toEqual({ pool: 'gpu', outcome: 'deferred', reports: [] });
    expect(passes).toBe(0);
    expect(calls).toEqual(['acquire gpu h']);
  });

  it('runs one more pass for every kick that came during the last one', async () => {
    const { lease, calls } = scriptedLease({ agains: 2 });
    const run = await runLeasedPasses('gpu', { lease, holder: 'h', pass: async () => report(), kick: async () => undefined });
    expect(run.reports).toHaveLength(3);
    expect(calls).toEqual(['acquire gpu h', 'release gpu', 'release gpu', 'release gpu']);
  });

  it('past its deadline frees the lease and kicks again instead of starting another pass', async () => {
    const { lease, calls } = scriptedLease({ agains: 5 });
    const kicks: [string, number][] = [];
    const run = await runLeasedPasses('gpu', {
      lease,
      holder: 'h',
      pass: async () => report(),
      kick: async (p, ms) => void kicks.push([p, ms]),
      clock: () => new Date(10_000),
      deadlineMs: 10_000,
    });
    expect(run.reports).toHaveLength(1);
    expect(calls).toEqual(['acquire gpu h', 'release gpu', 'abandon gpu']);
    expect(kicks).toEqual([['gpu', 0]]);
  });

  it('a failed pass frees the lease and throws (its kicks are retried)', async () => {
    const { lease, calls } = scriptedLease({});
    await expect(
      runLeasedPasses('gpu', { lease, holder: 'h', pass: async () => Promise.reject(new Error('DynamoDB down')), kick: async () => undefined }),
    ).rejects.toThrow('DynamoDB down');
    expect(calls).toEqual(['acquire gpu h', 'abandon gpu']);
  });

  it('a retry waiting for its backoff gets a delayed kick for when the backoff ends', async () => {
    const { lease } = scriptedLease({});
    const kicks: [string, number][] = [];
    await runLeasedPasses('gpu', { lease, holder: 'h', pass: async () => report(25_000), kick: async (p, ms) => void kicks.push([p, ms]), clock: () => new Date(20_000) });
    expect(kicks).toEqual([['gpu', 5_000]]);
  });
});
