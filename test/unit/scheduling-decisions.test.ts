import { describe, expect, it } from 'vitest';
import { COMMITMENT_GPU_SECONDS, decideAdmissions, type PendingJob, type WorkerCapacity } from '../../core/scheduling/decide-admissions.ts';
import { defaultGroupState, type GroupSchedulingState } from '../../core/scheduling/group-states.ts';
import { poolCapacity } from '../../core/scheduling/pool-capacity.ts';
import type { WorkerRecord } from '../../core/workers/registry.ts';

const now = new Date('2026-03-01T12:00:00Z');
let seq = 0;
function job(group: string, overrides: Partial<PendingJob> = {}): PendingJob {
  seq++;
  return { id: `J${String(seq).padStart(4, '0')}`, group, priority: 0, gpus: 0, attempt: 0, retryAt: null, ...overrides };
}
const worker = (workerId: string, freeSlots: number, freeGpus: number, totalGpus = freeGpus): WorkerCapacity => ({ workerId, freeSlots, freeGpus, totalGpus });
const groups = (...states: GroupSchedulingState[]) => new Map(states.map((s) => [s.name, s]));
const decide = (workers: WorkerCapacity[], pending: [string, PendingJob[]][], states = groups()) =>
  decideAdmissions({ now, queue: 'gpu', workers, pending: new Map(pending), groups: states });

describe('admission decisions', () => {
  it('an array child waits (ArrayThrottle) while its array runs or was admitted its parallelism; other jobs pass it', () => {
    const throttle = { parentId: 'P', parallelism: 2 };
    const [c1, c2, c3] = [job('ml', { arrayThrottle: throttle }), job('ml', { arrayThrottle: throttle }), job('ml', { arrayThrottle: throttle })];
    const other = job('ml');
    // One child of P already runs: one more may be admitted in this pass, then P is full.
    const d = decideAdmissions({ now, queue: 'gpu', workers: [worker('w1', 8, 0)], pending: new Map([['ml', [c1, c2, c3, other]]]), groups: groups(), arrays: new Map([['P', 1]]) });
    expect(d.admit.map((a) => a.job.id)).toEqual([c1.id, other.id]);
    expect(d.waiting.get(c2.id)).toMatchObject({ code: 'ArrayThrottle', position: null });
    expect(d.waiting.get(c2.id)?.message).toMatch(/array P already runs 2 of its children at once, its parallelism is 2/);
    expect(d.waiting.get(c3.id)?.code).toBe('ArrayThrottle');
  });

  it('admits nothing a live worker cannot fit, and says why each job waits', () => {
    const a = job('ml', { gpus: 2 });
    const b = job('ml', { gpus: 2 });
    const d = decide([worker('w1', 4, 1, 2)], [['ml', [a, b]]]);
    expect(d.admit).toEqual([]);
    expect(d.waiting.get(a.id)).toMatchObject({ code: 'Resources', position: 1 });
    expect(d.waiting.get(b.id)).toMatchObject({ code: 'Priority', position: 2 });
  });

  it('a job needing more GPUs than any live worker has waits for capacity, not for resources', () => {
    const big = job('ml', { gpus: 4 });
    const d = decide([worker('w1', 1, 2)], [['ml', [big]]]);
    expect(d.admit).toEqual([]);
    expect(d.waiting.get(big.id)?.code).toBe('NoCapacity');
  });

  it('packs GPUs per worker (best fit), never splitting one job over two workers', () => {
    const one = job('ml', { gpus: 1 });
    const two = job('ml', { gpus: 2 });
    // First fit would put the 1-GPU job on w3 and leave no worker for the 2-GPU one.
    const d = decide([worker('w3', 4, 2), worker('w1', 4, 1)], [['ml', [one, two]]]);
    expect(d.admit.map((a) => [a.job.id, a.workerId])).toEqual([
      [one.id, 'w1'],
      [two.id, 'w3'],
    ]);
  });

  it('a blocked big job reserves the worker closest to fitting it: smaller jobs behind it use other workers only', () => {
    const big = job('ml', { gpus: 2 });
    const small1 = job('ml', { gpus: 1 });
    const small2 = job('ml', { gpus: 1 });
    // w1 has 1 of 2 GPUs free (the big job waits for the other); w2 has one free GPU too.
    const d = decide([worker('w1', 4, 1, 2), worker('w2', 4, 1, 1)], [['ml', [big, small1, small2]]]);
    expect(d.admit.map((a) => [a.job.id, a.workerId])).toEqual([[small1.id, 'w2']]);
    expect(d.waiting.get(big.id)?.code).toBe('Resources');
    expect(d.waiting.get(small2.id)?.code).toBe('Priority');
  });

  it('fair share: the next free GPU goes to the group furthest below its weighted share of recent use', () => {
    const heavy = job('heavy', { gpus: 1 });
    const light = job('light', { gpus: 1 });
    const states = groups({ ...defaultGroupState('heavy'), decayedGpuSeconds: 10_000 }, { ...defaultGroupState('light'), decayedGpuSeconds: 100 });
    const d = decide([worker('w1', 1, 1)], [['heavy', [heavy]], ['light', [light]]], states);
    expect(d.admit.map((a) => a.job.id)).toEqual([light.id]);
    expect(d.waiting.get(heavy.id)).toMatchObject({ code: 'Resources', position: 1 });
    // Weight 200 makes the heavy group's 10,000 GPU-seconds worth 50: it goes first.
    const weighted = groups({ ...defaultGroupState('heavy'), decayedGpuSeconds: 10_000, weight: 200 }, { ...defaultGroupState('light'), decayedGpuSeconds: 100 });
    expect(decide([worker('w1', 1, 1)], [['heavy', [heavy]], ['light', [light]]], weighted).admit.map((a) => a.job.id)).toEqual([heavy.id]);
  });

  it('a burst of free GPUs is split among groups by the commitment charge, in proportion to weight', () => {
    const a = [job('a', { gpus: 1 }), job('a', { gpus: 1 }), job('a', { gpus: 1 }), job('a', { gpus: 1 })];
    const b = [job('b', { gpus: 1 }), job('b', { gpus: 1 }), job('b', { gpus: 1 }), job('b', { gpus: 1 })];
    const states = groups(defaultGroupState('a'), { ...defaultGroupState('b'), weight: 3 });
    const d = decide([worker('w1', 8, 4)], [['a', a], ['b', b]], states);
    const byGroup = d.admit.reduce<Record<string, number>>((n, x) => ({ ...n, [x.job.group]: (n[x.job.group] ?? 0) + 1 }), {});
    expect(byGroup).toEqual({ a: 1, b: 3 });
    expect(COMMITMENT_GPU_SECONDS).toBeGreaterThan(0);
  });

  it('within a group, the order given (priority, then submit order) is kept', () => {
    const high = job('ml', { priority: 100 });
    const low = job('ml');
    const d = decide([worker('w1', 1, 0)], [['ml', [high, low]]]);
    expect(d.admit.map((a) => a.job.id)).toEqual([high.id]);
  });

  it('quotas: a group at its maxRunningJobs or maxGpus waits with GroupQuota while others run', () => {
    const capped = job('capped', { gpus: 1 });
    const free = job('free', { gpus: 1 });
    const states = groups({ ...defaultGroupState('capped'), maxGpus: 2, runningGpus: 2, runningJobs: 2 }, defaultGroupState('free'));
    const d = decide([worker('w1', 4, 2)], [['capped', [capped]], ['free', [free]]], states);
    expect(d.admit.map((a) => a.job.id)).toEqual([free.id]);
    expect(d.waiting.get(capped.id)?.code).toBe('GroupQuota');
    const byJobs = groups({ ...defaultGroupState('capped'), maxRunningJobs: 1, runningJobs: 1 });
    expect(decide([worker('w1', 4, 2)], [['capped', [capped]]], byJobs).waiting.get(capped.id)?.code).toBe('GroupQuota');
  });

  it('a retry in its backoff is skipped without holding up the jobs behind it', () => {
    const backoff = job('ml', { retryAt: new Date(now.getTime() + 60_000).toISOString(), attempt: 1 });
    const next = job('ml');
    const d = decide([worker('w1', 2, 0)], [['ml', [backoff, next]]]);
    expect(d.admit.map((a) => a.job.id)).toEqual([next.id]);
    expect(d.waiting.get(backoff.id)?.code).toBe('RetryBackoff');
  });

  it('stays cheap: 20 groups × 10 heads over 50 workers decide in well under a millisecond each', () => {
    const pending = Array.from({ length: 20 }, (_, g) => [`g${g}`, Array.from({ length: 10 }, () => job(`g${g}`, { gpus: 1 }))] as [string, PendingJob[]]);
    const workers = Array.from({ length: 50 }, (_, i) => worker(`w${i}`, 1, i % 2));
    const d = decide(workers, pending);
    expect(d.admit).toHaveLength(25);
    expect(d.admit.length + d.waiting.size).toBe(200);
  });
});

describe('pool capacity', () => {
  const record = (workerId: string, gpus: number, concurrency: number, overrides: Partial<WorkerRecord> = {}): WorkerRecord => ({
    workerId,
    pool: 'gpu',
    hostname: 'h',
    pid: 1,
    concurrency,
    gpus: Array.from({ length: gpus }, (_, index) => ({ index, uuid: `GPU-${index}`, name: 'fake', memoryTotalMiB: 0, memoryUsedMiB: 0, utilizationPercent: null })),
    runningJobs: [],
    startedAt: now.toISOString(),
    lastSeenAt: now.toISOString(),
    draining: false,
    ...overrides,
  });

  it('subtracts running jobs from their worker and places admitted ones best-fit; draining and silent workers offer nothing', () => {
    const capacity = poolCapacity(
      [
        record('w1', 2, 4),
        record('w2', 4, 4),
        record('draining', 4, 4, { draining: true }),
        record('silent', 4, 4, { lastSeenAt: new Date(now.getTime() - 120_000).toISOString() }),
      ],
      [
        { workerId: 'w2', gpus: 3 },
        { workerId: null, gpus: 1 },
        { workerId: 'gone', gpus: 2 },
      ],
      now,
    );
    expect(capacity).toEqual([
      { workerId: 'w1', freeSlots: 4, freeGpus: 2, totalGpus: 2 },
      { workerId: 'w2', freeSlots: 2, freeGpus: 0, totalGpus: 4 },
    ]);
  });
});
