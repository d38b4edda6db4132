import { describe, expect, it } from 'vitest';
import { desiredTaskCount, scalingDecision, type ScalingInput } from '../../core/scaling/policy.ts';

const base: ScalingInput = {
  visibleMessages: 0,
  inFlightMessages: 0,
  runningTasks: 0,
  currentDesiredTasks: 0,
  maxJobsPerTask: 1,
  minTasks: 0,
  maxTasks: 10,
};

describe('desiredTaskCount', () => {
  // [case, input overrides, expected desired count]
  const cases: [string, Partial<ScalingInput>, number][] = [
    ['idle pool stays at zero', {}, 0],
    ['idle pool stays at its minimum', { minTasks: 1, currentDesiredTasks: 1, runningTasks: 1 }, 1],
    ['one waiting job starts a pool from zero', { visibleMessages: 1 }, 1],
    ['a job just submitted, not yet counted, starts a pool from zero', { pendingMessages: 1 }, 1],
    ['a delayed retry keeps a task', { delayedMessages: 1, currentDesiredTasks: 1, runningTasks: 1 }, 1],
    ['backlog rounds up to whole tasks', { visibleMessages: 5, maxJobsPerTask: 2 }, 3],
    ['running jobs count: 3 running + 3 waiting at 2 per task', { visibleMessages: 3, inFlightMessages: 3, maxJobsPerTask: 2, currentDesiredTasks: 2, runningTasks: 2 }, 3],
    ['backlog beyond the maximum is capped', { visibleMessages: 100 }, 10],
    ['a higher desired count than the maximum is brought down', { currentDesiredTasks: 12, runningTasks: 12, visibleMessages: 50 }, 10],
    ['a minimum above the backlog wins', { minTasks: 2, visibleMessages: 1 }, 2],
    ['scale out while tasks are still starting does not double count', { visibleMessages: 4, currentDesiredTasks: 4, runningTasks: 0 }, 4],
    ['drained queue: scale in to what the running jobs need', { inFlightMessages: 1, currentDesiredTasks: 4, runningTasks: 4 }, 1],
    ['drained queue and no jobs: scale to zero', { currentDesiredTasks: 3, runningTasks: 3 }, 0],
    ['drained queue: scale in to the minimum', { minTasks: 1, currentDesiredTasks: 3, runningTasks: 3 }, 1],
    ['jobs waiting: running tasks are kept even if the count says fewer', { visibleMessages: 1, currentDesiredTasks: 4, runningTasks: 3 }, 3],
    ['jobs waiting: tasks not yet placed are cancelled', { visibleMessages: 1, currentDesiredTasks: 4, runningTasks: 0 }, 1],
    ['jobs waiting: the running floor never exceeds the current desired count', { visibleMessages: 1, currentDesiredTasks: 2, runningTasks: 5 }, 2],
    ['submit path never scales in', { pendingMessages: 1, currentDesiredTasks: 5, runningTasks: 5, allowScaleIn: false }, 5],
    ['submit path still scales out', { visibleMessages: 6, pendingMessages: 1, currentDesiredTasks: 2, runningTasks: 2, allowScaleIn: false }, 7],
    ['submit path still respects a lowered maximum', { currentDesiredTasks: 12, runningTasks: 12, allowScaleIn: false }, 10],
    ['a pool with a maximum of zero never starts', { maxTasks: 0, visibleMessages: 3 }, 0],
    // Pending jobs (on the scheduler's list, no message yet) are demand: they start a pool at zero.
    ['a pending job starts a pool from zero', { pendingJobs: 1 }, 1],
    ['pending and admitted jobs add up at 2 per task', { pendingJobs: 3, visibleMessages: 1, inFlightMessages: 2, maxJobsPerTask: 2, currentDesiredTasks: 1, runningTasks: 1 }, 3],
    ['pending GPU jobs need tasks with their GPUs: two 4-GPU jobs on 4-GPU tasks', { pendingJobs: 2, pendingGpus: 8, gpusPerTask: 4, maxJobsPerTask: 4 }, 2],
    ['a pending 4-GPU job behind a running one needs a second 4-GPU task', { pendingJobs: 1, pendingGpus: 4, inFlightMessages: 1, gpusPerTask: 4, maxJobsPerTask: 4, currentDesiredTasks: 1, runningTasks: 1 }, 2],
    ['pending GPU jobs on a CPU pool count as jobs only', { pendingJobs: 2, pendingGpus: 2, maxJobsPerTask: 2 }, 1],
    ['jobs pending: running tasks are kept while the count says fewer', { pendingJobs: 1, currentDesiredTasks: 3, runningTasks: 3 }, 3],
    ['pending jobs beyond the maximum are capped', { pendingJobs: 50 }, 10],
  ];

  it.each(cases)('%s', (_case, overrides, expected) => {
    expect(desiredTaskCount({ ...base, ...overrides })).toBe(expected);
  });

  it.each<[string, Partial<ScalingInput>]>([
    ['a negative count', { visibleMessages: -1 }],
    ['a fractional count', { inFlightMessages: 0.5 }],
    ['zero jobs per task', { maxJobsPerTask: 0 }],
    ['min above max', { minTasks: 3, maxTasks: 2 }],
    ['NaN', { runningTasks: Number.NaN }],
    ['negative pending jobs', { pendingJobs: -1 }],
    ['fractional pending GPUs', { pendingGpus: 1.5 }],
  ])('rejects %s', (_case, overrides) => {
    expect(() => desiredTaskCount({ ...base, ...overrides })).toThrow(RangeError);
  });
});

describe('scalingDecision', () => {
  it.each<[Partial<ScalingInput>, string, number]>([
    [{ visibleMessages: 2 }, 'scale-out', 2],
    [{ currentDesiredTasks: 2, runningTasks: 2 }, 'scale-in', 0],
    [{ visibleMessages: 2, currentDesiredTasks: 2, runningTasks: 1 }, 'hold', 2],
  ])('%j -> %s to %i', (overrides, action, desired) => {
    expect(scalingDecision({ ...base, ...overrides })).toMatchObject({ action, desiredTasks: desired });
  });

  it('explains itself with the numbers it used', () => {
    const { reason } = scalingDecision({ ...base, visibleMessages: 3, inFlightMessages: 1, runningTasks: 1, currentDesiredTasks: 1, maxJobsPerTask: 2 });
    expect(reason).toBe('visible=3 inFlight=1 delayed=0 pending=0 pendingJobs=0 pendingGpus=0 quotaBlocked=0 running=1 desired=1->2 (2 jobs/task, 0..10 tasks)');
  });
});
