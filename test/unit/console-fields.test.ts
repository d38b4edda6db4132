import { describe, expect, it } from 'vitest';
import { fieldErrorsOf } from '../../console/src/field-errors.ts';
import { formatBytes, formatGpuHours } from '../../console/src/format.ts';
import { formOfGroup, groupSettingsBody } from '../../console/src/group-settings.ts';
import { arrayProgress, copySpecOf, jobCost, waitingBadge, type ConsoleJob } from '../../console/src/job-fields.ts';
import { parseSlurmArray, parseSlurmDependency } from '../../console/src/slurm-syntax.ts';
import { dailySeries, usageTotals, type UsageRow } from '../../console/src/usage-series.ts';

describe('console: Slurm --array syntax', () => {
  it.each([
    ['0-99%8', { size: 100, parallelism: 8 }],
    ['0-3', { size: 4 }],
    ['1,3,5-7', { size: 5, indices: [1, 3, 5, 6, 7] }],
    ['0-15:4%2', { size: 4, parallelism: 2, indices: [0, 4, 8, 12] }],
    ['3,1,1,2,0', { size: 4 }],
    ['7', { size: 1, indices: [7] }],
  ])('%s', (text, expected) => {
    expect(parseSlurmArray(text)).toEqual({ value: expected });
  });

  it.each([
    ['', /task ids/],
    ['0-9%0', /parallelism/],
    ['0-9%2%3', /one %/],
    ['5-1', /ends before/],
    ['a-b', /N-M/],
    ['0-4000000', /at most 10000/],
    ['0-9999,10000', /at most 10000/],
    ['0-10:0', /step/],
  ])('refuses %j', (text, message) => {
    const parsed = parseSlurmArray(text);
    expect('error' in parsed && parsed.error).toMatch(message);
  });
});

describe('console: Slurm --dependency syntax', () => {
  const A = '01JA0000000000000000000000';
  const B = '01JB0000000000000000000000';
  it('reads types with one or more ids, a bare id as afterok, each dependency once', () => {
    expect(parseSlurmDependency(`afterok:${A}:${B},afterany:${B} ${A} aftercorr:${A}`)).toEqual({
      value: [
        { job: A, type: 'afterok' },
        { job: B, type: 'afterok' },
        { job: B, type: 'afterany' },
        { job: A, type: 'aftercorr' },
      ],
    });
    expect(parseSlurmDependency('  ')).toEqual({ value: [] });
  });

  it.each([
    [`afterok:${A}?afterany:${B}`, /any of/],
    [`after:${A}`, /the types are/],
    ['afterok:', /name a job id/],
    [`afterok:${A}::${B}`, /name a job id/],
  ])('refuses %j', (text, message) => {
    const parsed = parseSlurmDependency(text);
    expect('error' in parsed && parsed.error).toMatch(message);
  });
});

describe('console: job fields', () => {
  it('badges a waiting code in a few words with its place in line', () => {
    expect(waitingBadge({ code: 'GroupQuota', message: 'm', since: '', position: null })).toBe('group quota');
    expect(waitingBadge({ code: 'Priority', message: 'm', since: '', position: 3 })).toBe('priority · #3');
    expect(waitingBadge({ code: 'SomethingNew', message: 'm', since: '', position: null })).toBe('SomethingNew');
  });

  it("turns an array's counts into bar segments, finished states first", () => {
    const status = { total: 10, QUEUED: 4, RUNNING: 2, SUCCEEDED: 3, FAILED: 1, CANCELLED: 0, TIMED_OUT: 0 };
    expect(arrayProgress(status)).toEqual({
      finished: 4,
      segments: [
        { state: 'SUCCEEDED', count: 3, percent: 30 },
        { state: 'FAILED', count: 1, percent: 10 },
        { state: 'RUNNING', count: 2, percent: 20 },
        { state: 'QUEUED', count: 4, percent: 40 },
      ],
    });
    expect(arrayProgress({ ...status, total: 0, QUEUED: 0, RUNNING: 0, SUCCEEDED: 0, FAILED: 0 }).segments).toEqual([]);
  });

  const job = {
    command: ['python', 'train.py'],
    queue: 'default',
    env: {},
    name: null,
    timeoutSeconds: 60,
    maxAttempts: 1,
    retryOn: [],
    retryDelaySeconds: 0,
    resources: { gpus: 1, cpu: 1, memoryMiB: 1024 },
    labels: {},
  } as unknown as ConsoleJob;

  it('costs a job from its summed usage, and nothing where the API measures none', () => {
    expect(jobCost({ ...job, usage: { wallSeconds: 1, gpuSeconds: 1, cpuSeconds: null, peakMemoryBytes: null, costUsd: 0.25 } })).toBe(0.25);
    expect(jobCost({ ...job, usage: null })).toBeUndefined();
    expect(jobCost(job)).toBeUndefined();
  });

  it('copies priority, array and dependencies into "Submit a copy" only when the job has them', () => {
    expect(copySpecOf(job)).not.toHaveProperty('priority');
    expect(copySpecOf(job)).not.toHaveProperty('array');
    expect(copySpecOf(job)).not.toHaveProperty('dependsOn');
    const rich = { ...job, priority: 5, array: { size: 4, parallelism: 2 }, dependsOn: [{ job: 'X', type: 'afterany' as const }] };
    expect(copySpecOf(rich)).toMatchObject({ priority: 5, array: { size: 4, parallelism: 2 }, dependsOn: [{ job: 'X', type: 'afterany' }] });
  });
});

describe('console: group settings form', () => {
  it('round-trips a group, empty quotas meaning none', () => {
    const form = formOfGroup({ maxGpus: null, maxRunningJobs: 4, weight: 2.5 });
    expect(form).toEqual({ maxGpus: '', maxRunningJobs: '4', weight: '2.5' });
    expect(groupSettingsBody(form)).toEqual({ body: { maxGpus: null, maxRunningJobs: 4, weight: 2.5 }, errors: {} });
  });

  it('names each bad field and sends nothing', () => {
    expect(groupSettingsBody({ maxGpus: '-1', maxRunningJobs: '1.5', weight: '0' })).toEqual({
      body: null,
      errors: { maxGpus: expect.stringMatching(/whole number/), maxRunningJobs: expect.stringMatching(/whole number/), weight: expect.stringMatching(/> 0/) },
    });
    expect(groupSettingsBody({ maxGpus: '8', maxRunningJobs: '', weight: '' }).errors).toEqual({ weight: expect.any(String) });
  });

  it("places the API's field issues by the first segment of their path", () => {
    expect(
      fieldErrorsOf({ fields: [{ path: 'maxGpus', message: 'too big' }, { path: 'dependsOn.0.job', message: 'not found' }, { path: 'maxGpus', message: 'second' }, { nope: 1 }] }),
    ).toEqual({ maxGpus: 'too big', dependsOn: '0.job: not found' });
    expect(fieldErrorsOf({})).toEqual({});
    expect(fieldErrorsOf(undefined)).toEqual({});
  });
});

describe('console: usage report', () => {
  const row = (key: string, gpuSeconds: number, costUsd: number): UsageRow => ({ key, jobs: 1, attempts: 2, wallSeconds: 10, gpuSeconds, cpuSeconds: 5, costUsd });

  it('charts days in order with the empty days as zeros, ignoring keys that are not days', () => {
    const series = dailySeries([row('2026-12-03', 7200, 2), row('2026-12-01', 3600, 1), row('alice', 99, 99)]);
    expect(series.days).toEqual([Date.UTC(2026, 11, 1) / 1000, Date.UTC(2026, 11, 2) / 1000, Date.UTC(2026, 11, 3) / 1000]);
    expect(series.gpuHours).toEqual([1, 0, 2]);
    expect(series.costUsd).toEqual([1, 0, 2]);
    expect(dailySeries([])).toEqual({ days: [], gpuHours: [], costUsd: [] });
    // Within the report's window, every day of it (its end exclusive) is a column.
    const windowed = dailySeries([row('2026-12-02', 3600, 1)], { from: '2026-11-30T12:00:00Z', to: '2026-12-04T00:00:00Z' });
    expect(windowed.days.map((d) => new Date(d * 1000).toISOString().slice(0, 10))).toEqual(['2026-11-30', '2026-12-01', '2026-12-02', '2026-12-03']);
    expect(windowed.gpuHours).toEqual([0, 0, 1, 0]);
  });

  it('totals the rows', () => {
    expect(usageTotals([row('a', 1, 0.5), row('b', 2, 0.25)])).toEqual({ jobs: 2, attempts: 4, wallSeconds: 20, gpuSeconds: 3, cpuSeconds: 10, costUsd: 0.75 });
  });

  it('formats memory and GPU time', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(81_559 * 1024 * 1024)).toBe('79.6 GiB');
    expect(formatBytes(null)).toBe('—');
    expect(formatGpuHours(7200)).toBe('2.00 GPU-h');
    expect(formatGpuHours(18)).toBe('0.005 GPU-h');
    expect(formatGpuHours(undefined)).toBe('—');
  });
});
