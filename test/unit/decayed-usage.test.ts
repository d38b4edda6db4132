import { describe, expect, it } from 'vitest';
import {
  bucketAttribute,
  bucketFor,
  decayedUsage,
  expiredBucket,
  MAX_BUCKET_AGE_PERIODS,
  parseBucketAttribute,
  usageBuckets,
  usageIncrement,
} from '../../core/groups/decayed-usage.ts';

const H = 24 * 3600;
const at = (s: number) => new Date(s * 1000);
/** Adds one holding the way a release does: into the bucket of its release time. */
function record(buckets: Map<string, number>, gpus: number, from: number, to: number, h = H) {
  const bucket = bucketFor(at(to), h);
  const name = bucketAttribute(bucket);
  buckets.set(name, (buckets.get(name) ?? 0) + usageIncrement(gpus, at(from), at(to), bucket));
}

describe('decayed GPU usage', () => {
  const t0 = 1_800_000_000 - (1_800_000_000 % H); // a period start

  it('a holding that just ended counts its GPU-seconds, to within the decay over its own length', () => {
    const b = new Map<string, number>();
    record(b, 2, t0 + 100, t0 + 160);
    // 2 GPUs × 60 s; decayed over at most 60 s of a day's half-life.
    expect(decayedUsage(b, at(t0 + 160))).toBeCloseTo(120 * (1 - (30 / H) * Math.LN2), 4);
    expect(decayedUsage(b, at(t0 + 160))).toBeLessThan(120);
    expect(decayedUsage(b, at(t0 + 160))).toBeGreaterThan(119.9);
  });

  it('halves every half-life', () => {
    const b = new Map<string, number>();
    record(b, 1, t0 + 10, t0 + 1010);
    const now = decayedUsage(b, at(t0 + 1010));
    expect(decayedUsage(b, at(t0 + 1010 + H))).toBeCloseTo(now / 2, 9);
    expect(decayedUsage(b, at(t0 + 1010 + 3 * H))).toBeCloseTo(now / 8, 9);
  });

  it('is the integral of the decay over the holding: a 3-day job counts its early hours less', () => {
    const b = new Map<string, number>();
    record(b, 1, t0, t0 + 3 * H);
    // ∫_0^{3H} 2^(-(3H - s)/H) ds = H/ln2 · (1 - 2^-3)
    expect(decayedUsage(b, at(t0 + 3 * H))).toBeCloseTo((H / Math.LN2) * (1 - 1 / 8), 3);
  });

  it('gives the same answer whichever bucket (period) the releases fell in: buckets are the rebase', () => {
    const spread = new Map<string, number>();
    // Same holdings, released across five periods.
    for (let d = 0; d < 5; d++) record(spread, 1, t0 + d * H + 10, t0 + d * H + 70);
    expect(spread.size).toBe(5);
    const now = 5 * H;
    const exact = (from: number, to: number) => (H / Math.LN2) * (2 ** (-(now - to) / H) - 2 ** (-(now - from) / H));
    const expected = [0, 1, 2, 3, 4].reduce((sum, d) => sum + exact(d * H + 10, d * H + 70), 0);
    expect(decayedUsage(spread, at(t0 + now))).toBeCloseTo(expected, 6);
  });

  it('keeps stored numbers bounded: an increment is at most gpus · 2h / ln 2 whatever the epoch', () => {
    const far = 4_000_000_000; // year 2096
    const bucket = bucketFor(at(far), H);
    const v = usageIncrement(8, at(far - H), at(far), bucket);
    expect(v).toBeLessThanOrEqual((8 * 2 * H) / Math.LN2);
    expect(Number.isFinite(v)).toBe(true);
  });

  it('reads each bucket with the half-life it was written with', () => {
    const b = new Map<string, number>();
    record(b, 1, t0 + 10, t0 + 70, 3600);
    const u = decayedUsage(b, at(t0 + 70));
    expect(decayedUsage(b, at(t0 + 70 + 3600))).toBeCloseTo(u / 2, 9);
  });

  it('ignores buckets older than the horizon, and the release removes that bucket', () => {
    const bucket = bucketFor(at(t0), H);
    const old = expiredBucket(bucket);
    expect(old.refSeconds).toBe(t0 - MAX_BUCKET_AGE_PERIODS * H);
    const b = new Map([[bucketAttribute({ ...old, refSeconds: old.refSeconds - H }), 1e12]]);
    expect(decayedUsage(b, at(t0))).toBe(0);
  });

  it('adds nothing for GPU-less or empty holdings, and names buckets reversibly', () => {
    const bucket = bucketFor(at(t0 + 5), H);
    expect(usageIncrement(0, at(t0), at(t0 + 5), bucket)).toBe(0);
    expect(usageIncrement(2, at(t0 + 5), at(t0 + 5), bucket)).toBe(0);
    expect(parseBucketAttribute(bucketAttribute(bucket))).toEqual(bucket);
    expect(parseBucketAttribute('usage_1_0')).toBeUndefined();
    expect(usageBuckets({ pk: 'GROUP#a', usage_86400_86400: 3, runningGpus: 2 })).toEqual([['usage_86400_86400', 3]]);
  });
});
