/**
 * Recent GPU usage as exponentially decayed GPU-seconds, kept so that a release can record its
 * share with one unconditional DynamoDB `ADD` (no read, no condition: it rides in the transaction
 * that ends the attempt, which must never be refused for bookkeeping).
 *
 * The decayed usage at time `now` of holdings (gpus g, held over [a, r]) with half-life h is
 *
 *   U(now) = Σ g · ∫_a^r 2^(−(now − s)/h) ds
 *
 * Storing U itself would need a read-modify-write (every term shrinks as `now` moves). Instead
 * each term is stored relative to a reference time `ref`:
 *
 *   S_ref = Σ g · ∫_a^r 2^((s − ref)/h) ds        so that        U(now) = S_ref · 2^(−(now − ref)/h)
 *
 * and S_ref only ever grows by additions. A single `ref` per group would let S grow as 2^(t/h)
 * and need a rebase (rewrite S and ref together) that races with releases computed on the old
 * ref. So the reference is a function of time alone: `ref = floor(r / h) · h`, the start of the
 * half-life period the release falls in. Each period has its own bucket attribute
 * (`usage_<ref>_<h>`, seconds), the added value is at most g · 2h / ln 2, and the "rebase" is
 * simply that the next period writes the next bucket. A reader sums the buckets, each decayed from
 * its own ref with its own h (so a change of the configured half-life never misreads old buckets),
 * and ignores buckets older than MAX_BUCKET_AGE_PERIODS half-lives (< 2^-40 of their value);
 * each release also removes the bucket that far back, so a busy group's item stays small.
 */

/** Buckets this many half-lives old weigh less than 1e-12 of their value: dropped. */
export const MAX_BUCKET_AGE_PERIODS = 40;
export const DEFAULT_USAGE_HALF_LIFE_SECONDS = 24 * 3600;

const BUCKET_PATTERN = /^usage_(\d+)_(\d+)$/;

/** A usage bucket's identity: its reference time and the half-life its values were computed with (seconds). */
export interface UsageBucket {
  readonly refSeconds: number;
  readonly halfLifeSeconds: number;
}

export function bucketAttribute(bucket: UsageBucket): string {
  return `usage_${bucket.refSeconds}_${bucket.halfLifeSeconds}`;
}

export function parseBucketAttribute(name: string): UsageBucket | undefined {
  const m = BUCKET_PATTERN.exec(name);
  if (!m) return undefined;
  const halfLifeSeconds = Number(m[2]);
  return halfLifeSeconds > 0 ? { refSeconds: Number(m[1]), halfLifeSeconds } : undefined;
}

/** The bucket a release at `at` adds to: the start of its half-life period. */
export function bucketFor(at: Date, halfLifeSeconds: number): UsageBucket {
  const t = Math.floor(at.getTime() / 1000);
  return { refSeconds: Math.floor(t / halfLifeSeconds) * halfLifeSeconds, halfLifeSeconds };
}

/** The bucket a release into `bucket` removes: old enough to be worth nothing. */
export function expiredBucket(bucket: UsageBucket): UsageBucket {
  return { ...bucket, refSeconds: bucket.refSeconds - MAX_BUCKET_AGE_PERIODS * bucket.halfLifeSeconds };
}

/**
 * What a holding of `gpus` over [takenAt, releasedAt] adds to `bucket`: g · ∫ 2^((s − ref)/h) ds
 * = g · (h / ln 2) · 2^((a − ref)/h) · (2^((r − a)/h) − 1), with expm1 so that a short holding
 * (seconds against a day) keeps its precision. For r − a ≪ h this is ≈ g · (r − a) · 2^((r − ref)/h).
 */
export function usageIncrement(gpus: number, takenAt: Date, releasedAt: Date, bucket: UsageBucket): number {
  const h = bucket.halfLifeSeconds;
  const a = takenAt.getTime() / 1000;
  const r = Math.max(a, releasedAt.getTime() / 1000);
  if (gpus <= 0 || r === a) return 0;
  return gpus * (h / Math.LN2) * 2 ** ((a - bucket.refSeconds) / h) * Math.expm1(((r - a) / h) * Math.LN2);
}

/** U(now): the buckets' sum, each decayed from its own reference time with its own half-life. */
export function decayedUsage(buckets: Iterable<readonly [string, number]>, now: Date): number {
  const t = now.getTime() / 1000;
  let total = 0;
  for (const [name, value] of buckets) {
    const bucket = parseBucketAttribute(name);
    if (!bucket || typeof value !== 'number' || !Number.isFinite(value)) continue;
    const age = (t - bucket.refSeconds) / bucket.halfLifeSeconds;
    if (age > MAX_BUCKET_AGE_PERIODS) continue;
    total += value * 2 ** -age;
  }
  return total;
}

/** The usage buckets among an item's attributes. */
export function usageBuckets(item: Readonly<Record<string, unknown>>): [string, number][] {
  return Object.entries(item).filter((e): e is [string, number] => BUCKET_PATTERN.test(e[0]) && typeof e[1] === 'number');
}
