import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseArrayOption } from '../../cli/array-option.ts';
import { formatArrayProgress, formatArrayProgressBar } from '../../cli/format.ts';
import { jobSpecSchema } from '../../core/jobs/job.ts';

describe('--array in the Slurm idiom', () => {
  it.each([
    ['0-99%8', { size: 100, parallelism: 8 }],
    ['0-4', { size: 5 }],
    // As in Slurm: one index, 5.
    ['5', { size: 1, indices: [5] }],
    ['0', { size: 1 }],
    ['1,3,5-7', { size: 5, indices: [1, 3, 5, 6, 7] }],
    ['0-15:4', { size: 4, indices: [0, 4, 8, 12] }],
    ['0-15:4%2', { size: 4, parallelism: 2, indices: [0, 4, 8, 12] }],
    // Duplicates and order do not matter: the index set.
    ['3,0-2,1', { size: 4 }],
  ])('%s', (raw, expected) => {
    const parsed = parseArrayOption(raw);
    expect(parsed).toEqual(expected);
    // What the CLI sends is what the API accepts.
    expect(jobSpecSchema.parse({ command: ['true'], array: parsed }).array).toMatchObject({ size: expected.size });
  });

  it.each(['', '5-3', '1-10:0', 'a', '1,,2', '0-9%0', '0-9%x', '0-9%2%3', '0-10000'])('refuses %j', (raw) => {
    expect(() => parseArrayOption(raw)).toThrow(InvalidArgumentError);
  });

  it('the API refuses a size that disagrees with the indices, and sizes past 10,000', () => {
    expect(jobSpecSchema.safeParse({ command: ['true'], array: { size: 3, indices: [1, 2] } }).success).toBe(false);
    expect(jobSpecSchema.safeParse({ command: ['true'], array: { size: 10_001 } }).success).toBe(false);
    expect(jobSpecSchema.safeParse({ command: ['true'], array: { size: 0 } }).success).toBe(false);
    expect(jobSpecSchema.safeParse({ command: ['true'], array: {} }).success).toBe(false);
  });
});

describe('array progress', () => {
  const status = { total: 50, QUEUED: 33, RUNNING: 5, SUCCEEDED: 10, FAILED: 2, CANCELLED: 0, TIMED_OUT: 0 };
  it('summarises the counts on one line', () => {
    expect(formatArrayProgress(status)).toBe('12/50 done (10 SUCCEEDED, 2 FAILED), 5 RUNNING, 33 QUEUED');
  });
  it('draws a bar of the finished share', () => {
    expect(formatArrayProgressBar(status, 10)).toBe('[##--------]  24% 12/50 done (10 SUCCEEDED, 2 FAILED), 5 RUNNING, 33 QUEUED');
    expect(formatArrayProgressBar({ ...status, QUEUED: 0, RUNNING: 0, SUCCEEDED: 50, FAILED: 0 }, 10)).toBe('[##########] 100% 50/50 done (50 SUCCEEDED)');
  });
});
