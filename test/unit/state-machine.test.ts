import { describe, expect, it } from 'vitest';
import { JOB_STATES, TERMINAL_STATES, isTerminal, type JobState } from '../../core/jobs/job.ts';
import { canTransition, sourcesOf, TRANSITIONS } from '../../core/jobs/state-machine.ts';

const allowed: [JobState, JobState][] = [
  ['QUEUED', 'RUNNING'],
  ['QUEUED', 'CANCELLED'],
  ['QUEUED', 'FAILED'],
  ['RUNNING', 'SUCCEEDED'],
  ['RUNNING', 'FAILED'],
  ['RUNNING', 'CANCELLED'],
  ['RUNNING', 'TIMED_OUT'],
  ['RUNNING', 'QUEUED'],
];

describe('job state machine', () => {
  const everyPair = JOB_STATES.flatMap((from) => JOB_STATES.map((to) => [from, to] as [JobState, JobState]));

  it.each(everyPair)('%s → %s is allowed only when listed', (from, to) => {
    const expected = allowed.some(([f, t]) => f === from && t === to);
    expect(canTransition(from, to)).toBe(expected);
  });

  it.each(TERMINAL_STATES.map((s) => [s]))('%s is terminal and never changes', (state) => {
    expect(isTerminal(state)).toBe(true);
    expect(TRANSITIONS[state]).toEqual([]);
  });

  it('knows where each state can be reached from', () => {
    expect(sourcesOf('RUNNING')).toEqual(['QUEUED']);
    expect(sourcesOf('CANCELLED').sort()).toEqual(['QUEUED', 'RUNNING']);
    expect(sourcesOf('QUEUED')).toEqual(['RUNNING']);
  });
});
