import { describe, expect, it } from 'vitest';
import { formatElapsed, formatUsageReport } from '../../cli/format-usage.ts';
import { formatUsage } from '../../cli/format.ts';
import { lostAttemptUsageRecord } from '../../core/jobs/attempt-usage.ts';
import { WORKER_POOLS, defineWorkerPools } from '../../core/pools.ts';
import { readContainerStats } from '../../core/runtime/container-stats-sampler.ts';
import { combineMeasures, parseProcStat } from '../../core/runtime/process-tree-sampler.ts';
import { poolPricing, pricingEnvironment } from '../../core/usage/instance-prices.ts';
import { attemptUsage, costRate, costUsd, instanceShare, sumUsage, type AttemptUsage } from '../../core/usage/usage.ts';
import { aggregateUsage, idleCapacity } from '../../core/usage/usage-report.ts';
import type { UsageRecord } from '../../core/usage/usage-record.ts';
import { usageRecordItems } from '../../core/usage/usage-record-item.ts';
import { daysOf } from '../../core/usage/usage-service.ts';
import { describeGpus } from '../../core/worker/gpus.ts';
import { makeJob } from '../support/jobs.ts';

describe('cost', () => {
  it.each([
    ['2 of 4 GPUs', { gpus: 2, cpu: 1 }, { gpus: 4, vcpus: 48 }, 0.5],
    ['a CPU job on a GPU pool holds no GPU share', { gpus: 0, cpu: 4 }, { gpus: 4, vcpus: 48 }, 0],
    ['a CPU pool shares by vCPUs', { gpus: 0, cpu: 1 }, { gpus: 0, vcpus: 4 }, 0.25],
    ['never more than the instance', { gpus: 0, cpu: 8 }, { gpus: 0, vcpus: 2 }, 1],
    ['an instance of unknown size costs nothing', { gpus: 0, cpu: 1 }, { gpus: 0, vcpus: 0 }, 0],
  ])('%s', (_case, resources, instance, share) => {
    expect(instanceShare(resources, instance)).toBe(share);
  });

  it('is price × share × hours, in micro-dollars', () => {
    expect(costUsd({ usdPerInstanceHour: 3.6, instanceShare: 0.5 }, 3600)).toBe(1.8);
    expect(costUsd({ usdPerInstanceHour: 1.006, instanceShare: 1 }, 1)).toBe(0.000279);
    expect(costUsd({ usdPerInstanceHour: 0, instanceShare: 1 }, 3600)).toBe(0);
    expect(costRate({ gpus: 1, cpu: 1 }, { usdPerInstanceHour: 2, gpus: 4, vcpus: 16 })).toEqual({ usdPerInstanceHour: 2, instanceShare: 0.25 });
  });

  it('records an attempt from its claim to its end', () => {
    const usage = attemptUsage({
      startedAt: '2026-12-01T10:00:00.000Z',
      endedAt: new Date('2026-12-01T10:30:00.500Z'),
      gpus: 2,
      rate: { usdPerInstanceHour: 4, instanceShare: 0.5 },
      measured: { cpuSeconds: 12.3456, peakMemoryBytes: 1e9 },
    });
    expect(usage).toEqual({ wallSeconds: 1800.5, gpuSeconds: 3601, cpuSeconds: 12.346, peakMemoryBytes: 1e9, costUsd: 1.000278 });
  });

  it('sums attempts: times and cost add up, peak memory is the largest, unknown CPU is left out', () => {
    const a: AttemptUsage = { wallSeconds: 10, gpuSeconds: 20, cpuSeconds: 5, peakMemoryBytes: 100, costUsd: 0.1 };
    const lost: AttemptUsage = { wallSeconds: 3, gpuSeconds: 6, cpuSeconds: null, peakMemoryBytes: null, costUsd: 0.03 };
    expect(sumUsage([a, undefined, lost, { ...a, peakMemoryBytes: 300 }])).toEqual({ wallSeconds: 23, gpuSeconds: 46, cpuSeconds: 10, peakMemoryBytes: 300, costUsd: 0.23 });
    expect(sumUsage([lost])).toMatchObject({ cpuSeconds: null, peakMemoryBytes: null });
    expect(sumUsage([undefined])).toBeNull();
  });

  it("charges a lost attempt until its lease expired, at the rate its claim recorded", () => {
    const job = makeJob({
      state: 'RUNNING',
      attempt: 1,
      group: 'ml',
      resources: { gpus: 2, cpu: 1, memoryMiB: 1024 },
      startedAt: '2026-12-01T10:00:00.000Z',
      lease: { id: 'l', workerId: 'w', expiresAt: Date.parse('2026-12-01T10:01:00.000Z') },
      attempts: [{ attempt: 1, workerId: 'w', startedAt: '2026-12-01T10:00:00.000Z', costRate: { usdPerInstanceHour: 36, instanceShare: 0.5 } }],
    });
    const record = lostAttemptUsageRecord(job, new Date('2026-12-01T10:05:00.000Z'));
    expect(record).toMatchObject({ wallSeconds: 60, gpuSeconds: 120, cpuSeconds: null, peakMemoryBytes: null, costUsd: 0.3, finishedAt: '2026-12-01T10:05:00.000Z', gpus: 2 });
    // Recovered before the expiry (a stopped holder): charged until now.
    expect(lostAttemptUsageRecord(job, new Date('2026-12-01T10:00:30.000Z')).wallSeconds).toBe(30);
  });
});

const record = (over: Partial<UsageRecord>): UsageRecord => ({
  jobId: 'j1',
  attempt: 1,
  group: 'ml',
  owner: 'alice',
  queue: 'gpu',
  gpus: 1,
  startedAt: '2026-12-01T10:00:00.000Z',
  finishedAt: '2026-12-01T11:00:00.000Z',
  usdPerInstanceHour: 4,
  instanceShare: 0.25,
  wallSeconds: 3600,
  gpuSeconds: 3600,
  cpuSeconds: 100,
  peakMemoryBytes: 1,
  costUsd: 1,
  ...over,
});

describe('usage report', () => {
  const records = [
    record({}),
    record({ attempt: 2, finishedAt: '2026-12-02T01:00:00.000Z', cpuSeconds: null }),
    record({ jobId: 'j2', group: 'vision', owner: 'bob', queue: 'default', gpus: 0, gpuSeconds: 0, wallSeconds: 60, costUsd: 0.5 }),
  ];

  it.each([
    ['group', [['ml', 1, 2, 7200, 7200, 100, 2], ['vision', 1, 1, 60, 0, 100, 0.5]]],
    ['user', [['alice', 1, 2, 7200, 7200, 100, 2], ['bob', 1, 1, 60, 0, 100, 0.5]]],
    ['queue', [['default', 1, 1, 60, 0, 100, 0.5], ['gpu', 1, 2, 7200, 7200, 100, 2]]],
    ['day', [['2026-12-01', 2, 2, 3660, 3600, 200, 1.5], ['2026-12-02', 1, 1, 3600, 3600, 0, 1]]],
  ] as const)('sums by %s, in key order', (by, expected) => {
    expect(aggregateUsage(records, by).map((r) => [r.key, r.jobs, r.attempts, r.wallSeconds, r.gpuSeconds, r.cpuSeconds, r.costUsd])).toEqual(expected);
  });

  it('idle capacity is instance time in the window less what attempts held', () => {
    const from = new Date('2026-12-01T00:00:00Z');
    const to = new Date('2026-12-02T00:00:00Z');
    const lifetimes = [
      // Four hours in the window at 4 $/h; the hour before it does not count.
      { workerId: 'a', pool: 'gpu', startedAt: '2026-11-30T23:00:00.000Z', lastSeenAt: '2026-12-01T04:00:00.000Z', usdPerInstanceHour: 4, gpus: 4, vcpus: 48 },
      // Entirely after the window.
      { workerId: 'b', pool: 'gpu', startedAt: '2026-12-02T01:00:00.000Z', lastSeenAt: '2026-12-02T02:00:00.000Z', usdPerInstanceHour: 4, gpus: 4, vcpus: 48 },
    ];
    // One hour at a quarter of the instance: 900 instance-seconds, 1 $ held.
    expect(idleCapacity(lifetimes, [record({})], from, to)).toEqual({ instanceSeconds: 4 * 3600 - 900, costUsd: 15 });
    expect(idleCapacity([], [record({})], from, to)).toEqual({ instanceSeconds: 0, costUsd: 0 });
  });

  it('covers every UTC day of a window, and files each record by group and by day', () => {
    expect(daysOf({ from: '2026-11-30T23:00:00.000Z', to: '2026-12-02T00:00:00.000Z' })).toEqual(['2026-11-30', '2026-12-01']);
    expect(daysOf({ from: '2026-12-01T10:00:00.000Z', to: '2026-12-01T11:00:00.000Z' })).toEqual(['2026-12-01']);
    const [byGroup, byDay] = usageRecordItems(record({}));
    expect([byGroup.pk, byGroup.usageKey, byGroup.usageSortKey]).toEqual(['USAGE#j1#1', 'GROUP#ml', '2026-12-01T11:00:00.000Z#j1#1']);
    expect([byDay.pk, byDay.usageKey]).toEqual(['USAGEDAY#j1#1', 'DAY#2026-12-01']);
  });
});

describe('measuring', () => {
  it('reads CPU ticks (own and reaped children) and RSS from /proc/<pid>/stat, a comm with spaces and parentheses included', () => {
    const fields = ['S', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '150', '50', '30', '20', '0', '0', '1', '0', '100', '1000000', '2500'];
    expect(parseProcStat(`42 (my (odd) job) ${fields.join(' ')}`)).toEqual({ cpuTicks: 250, rssPages: 2500 });
    expect(parseProcStat('garbage')).toBeUndefined();
  });

  it("reads the Engine's stats: cumulative CPU, and memory's high-water mark where the engine has one", () => {
    expect(readContainerStats({ cpu_stats: { cpu_usage: { total_usage: 2e9 } }, memory_stats: { usage: 100, max_usage: 300 } })).toEqual({ cpuNs: 2e9, memoryBytes: 300 });
    expect(readContainerStats({ cpu_stats: { cpu_usage: { total_usage: 1 } }, memory_stats: { usage: 100 } })).toEqual({ cpuNs: 1, memoryBytes: 100 });
    // A container that is not running answers empty stats.
    expect(readContainerStats({ cpu_stats: {}, memory_stats: {} })).toBeUndefined();
  });

  it("prefers the cgroup's exact counters, sampling where it has none", () => {
    expect(combineMeasures({ cpuSeconds: null, peakMemoryBytes: 9 }, { cpuSeconds: 1, peakMemoryBytes: 5 })).toEqual({ cpuSeconds: 1, peakMemoryBytes: 9 });
    expect(combineMeasures(undefined, { cpuSeconds: 1, peakMemoryBytes: 5 })).toEqual({ cpuSeconds: 1, peakMemoryBytes: 5 });
  });
});

describe('pricing', () => {
  it("prices a pool from the table by its capacity, the deployment's override, or its own price", () => {
    const gpu = WORKER_POOLS.find((p) => p.name === 'gpu')!;
    expect(poolPricing(gpu)).toEqual({ usdPerInstanceHour: 0.45, gpus: 1, vcpus: 4 });
    expect(poolPricing({ ...gpu, capacity: 'on-demand' }).usdPerInstanceHour).toBe(1.006);
    expect(poolPricing(gpu, { 'g5.xlarge': 0.52 }).usdPerInstanceHour).toBe(0.52);
    expect(poolPricing({ ...gpu, pricePerInstanceHourUsd: 0.6 }, { 'g5.xlarge': 0.52 }).usdPerInstanceHour).toBe(0.6);
    const [unknown] = defineWorkerPools([{ ...gpu, name: 'x', instanceType: 'zz9.huge', alternativeInstanceTypes: [], taskCpuUnits: 5000 }]);
    expect(poolPricing(unknown!)).toEqual({ usdPerInstanceHour: 0, gpus: 1, vcpus: 5 });
    expect(pricingEnvironment({ usdPerInstanceHour: 0.45, gpus: 1, vcpus: 4 })).toEqual({
      RUNPLANE_PRICE_PER_INSTANCE_HOUR: '0.45',
      RUNPLANE_INSTANCE_GPUS: '1',
      RUNPLANE_INSTANCE_VCPUS: '4',
    });
  });

  it('says which GPUs a worker found', () => {
    expect(describeGpus([{ index: 0, uuid: 'u', name: 'NVIDIA A10G', memoryTotalMiB: 23028, memoryUsedMiB: 0, utilizationPercent: 0 }])).toBe('1 found by nvidia-smi: 0: NVIDIA A10G (23028 MiB)');
    expect(describeGpus([])).toMatch(/^none /);
  });
});

describe('runplane usage output', () => {
  it("`runplane get` sums a job's usage on one line", () => {
    expect(formatUsage({ wallSeconds: 62, gpuSeconds: 124, cpuSeconds: 5, peakMemoryBytes: 80 * 2 ** 20, costUsd: 0.00123 })).toBe('wall 1m 2s, 0.034 GPU-h, CPU 5s, peak 80 MiB, $0.0012');
    expect(formatUsage({ wallSeconds: 5, gpuSeconds: 0, cpuSeconds: null, peakMemoryBytes: null, costUsd: 0 })).toBe('wall 5s, 0.000 GPU-h, CPU unknown, peak unknown, $0.0000');
  });

  it('prints elapsed time as sacct does', () => {
    expect(formatElapsed(0)).toBe('00:00:00');
    expect(formatElapsed(3723.4)).toBe('01:02:03');
    expect(formatElapsed(90_061)).toBe('1-01:01:01');
  });

  it('prints a line per key, a total, and the idle line', () => {
    const text = formatUsageReport({
      by: 'group',
      from: '2026-12-01T00:00:00.000Z',
      to: '2026-12-08T00:00:00.000Z',
      rows: [
        { key: 'ml', jobs: 2, attempts: 3, wallSeconds: 7200, gpuSeconds: 14_400, cpuSeconds: 65, costUsd: 1.5 },
        { key: 'vision', jobs: 1, attempts: 1, wallSeconds: 60, gpuSeconds: 0, cpuSeconds: 1, costUsd: 0.01 },
      ],
      idle: { instanceSeconds: 3600, costUsd: 4 },
    });
    expect(text).toBe(
      [
        'usage of attempts ended 2026-12-01T00:00:00Z .. 2026-12-08T00:00:00Z, by group',
        'GROUP  JOBS ATTEMPTS  ELAPSED GPU-HOURS CPU-TIME COST-USD',
        '------ ---- -------- -------- --------- -------- --------',
        'ml        2        3 02:00:00     4.000 00:01:05   1.5000',
        'vision    1        1 00:01:00     0.000 00:00:01   0.0100',
        'TOTAL     3        4 02:01:00     4.000 00:01:06   1.5100',
        '(idle)    -        - 01:00:00         -        -   4.0000',
        '',
      ].join('\n'),
    );
    expect(formatUsageReport({ by: 'day', from: '2026-12-01T00:00:00.000Z', to: '2026-12-02T00:00:00.000Z', rows: [], idle: null })).toContain('no attempts ended in this window');
  });
});
