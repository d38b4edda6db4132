import { describe, expect, it } from 'vitest';
import type { GroupQuotaState } from '../../core/scaling/pool-scaling.ts';
import { quotaDemand } from '../../core/scaling/quota-demand.ts';

/** A group with no limits and nothing running, with overrides. */
const group = (name: string, over: Partial<GroupQuotaState> = {}): [string, GroupQuotaState] => [
  name,
  { name, maxGpus: null, maxRunningJobs: null, runningGpus: 0, runningJobs: 0, ...over },
];

describe('quotaDemand: pending jobs their group\'s quota holds back are not demand', () => {
  // [case, backlog (GPUs of each pending job, per group, in admission order), group states, expected]
  const cases: [string, [string, number[]][], [string, GroupQuotaState][] | undefined, { jobs: number; gpus: number; quotaBlockedJobs: number }][] = [
    ['no group states read: every pending job is demand (as before quotas)', [['a', [1, 1, 2]]], undefined, { jobs: 3, gpus: 4, quotaBlockedJobs: 0 }],
    ['a group without a quota: all of it', [['a', [1, 1]]], [group('a')], { jobs: 2, gpus: 2, quotaBlockedJobs: 0 }],
    ['a group at maxRunningJobs: none of it', [['a', [0, 0, 1]]], [group('a', { maxRunningJobs: 2, runningJobs: 2 })], { jobs: 0, gpus: 0, quotaBlockedJobs: 3 }],
    ['room for one more job: the first in order, the rest held back', [['a', [2, 1, 1]]], [group('a', { maxRunningJobs: 3, runningJobs: 2 })], { jobs: 1, gpus: 2, quotaBlockedJobs: 2 }],
    ['maxGpus: the jobs that fit the GPUs left, in order, a smaller one after a refused one', [['a', [2, 4, 1]]], [group('a', { maxGpus: 4, runningGpus: 1 })], { jobs: 2, gpus: 3, quotaBlockedJobs: 1 }],
    ['maxGpus never holds back a GPU-less job', [['a', [0, 0]]], [group('a', { maxGpus: 2, runningGpus: 2 })], { jobs: 2, gpus: 0, quotaBlockedJobs: 0 }],
    ['a group missing from the states read is counted whole', [['a', [1]], ['b', [1, 1]]], [group('a', { maxRunningJobs: 1, runningJobs: 1 })], { jobs: 2, gpus: 2, quotaBlockedJobs: 1 }],
    ['another group\'s backlog is demand while one is blocked', [['a', [1, 1]], ['b', [1]]], [group('a', { maxGpus: 0 }), group('b')], { jobs: 1, gpus: 1, quotaBlockedJobs: 2 }],
    ['an empty backlog', [], [], { jobs: 0, gpus: 0, quotaBlockedJobs: 0 }],
  ];
  it.each(cases)('%s', (_case, backlog, states, expected) => {
    expect(quotaDemand(new Map(backlog), states ? new Map(states) : undefined)).toEqual(expected);
  });
});
