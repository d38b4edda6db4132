import { describe, expect, it } from 'vitest';
import { JOB_STATES, TERMINAL_STATES, isTerminal, type JobState } from '../../core/jobs/job.ts';
import { canTransition, NEXT_STATES, sourcesOf, transitionCondition, TRANSITIONS, type TransitionName } from '../../core/jobs/state-machine.ts';

const allowed: [JobState, JobState][] = [
  ['QUEUED', 'RUNNING'],
  ['QUEUED', 'CANCELLED'],
  ['QUEUED', 'FAILED'],
  ['RUNNING', 'SUCCEEDED'],
  ['RUNNING', 'FAILED'],
  ['RUNNING', 'CANCELLED'],
  ['RUNNING', 'TIMED_OUT'],
  ['RUNNING', 'QUEUED'],
  // An explicit retry of a finished job.
  ['SUCCEEDED', 'QUEUED'],
  ['FAILED', 'QUEUED'],
  ['CANCELLED', 'QUEUED'],
  ['TIMED_OUT', 'QUEUED'],
];

describe('job state machine', () => {
  const everyPair = JOB_STATES.flatMap((from) => JOB_STATES.map((to) => [from, to] as [JobState, JobState]));

  it.each(everyPair)('%s → %s is allowed only when listed', (from, to) => {
    const expected = allowed.some(([f, t]) => f === from && t === to);
    expect(canTransition(from, to)).toBe(expected);
  });

  it.each(TERMINAL_STATES.map((s) => [s]))('%s is terminal: only an explicit retry queues it again', (state) => {
    expect(isTerminal(state)).toBe(true);
    expect(NEXT_STATES[state]).toEqual(['QUEUED']);
    const leaving = (Object.keys(TRANSITIONS) as TransitionName[]).filter((name) => (TRANSITIONS[name].from as readonly JobState[]).includes(state));
    // An array parent that finished is reopened when a child of it is queued again.
    expect(leaving).toEqual(state === 'SUCCEEDED' || state === 'FAILED' ? ['retryFinished', 'reopenArray'] : ['retryFinished']);
  });

  it('knows where each state can be reached from', () => {
    expect(sourcesOf('RUNNING')).toEqual(['QUEUED']);
    expect(sourcesOf('CANCELLED').sort()).toEqual(['QUEUED', 'RUNNING']);
    expect(sourcesOf('QUEUED')).toEqual(['RUNNING', ...TERMINAL_STATES]);
  });
});

/** The condition each store write sends to DynamoDB, as built from the table. */
describe('conditions built from the transition table', () => {
  const cases: [TransitionName, JobState, Parameters<typeof transitionCondition>[2], string, Record<string, unknown>][] = [
    [
      'claim',
      'RUNNING',
      { attempt: 2 },
      '#c_state = :c_from0 AND attempt = :c_attempt AND cancelRequested = :c_false AND attribute_not_exists(#c_hold)',
      { ':c_from0': 'QUEUED', ':c_attempt': 2, ':c_false': false },
    ],
    ['renewLease', 'RUNNING', { leaseId: 'L' }, '#c_state = :c_from0 AND leaseId = :c_lid', { ':c_from0': 'RUNNING', ':c_lid': 'L' }],
    [
      'finish',
      'SUCCEEDED',
      { leaseId: 'L', attempt: 1 },
      '#c_state = :c_from0 AND leaseId = :c_lid AND attempt = :c_attempt',
      { ':c_from0': 'RUNNING', ':c_lid': 'L', ':c_attempt': 1 },
    ],
    [
      'finish',
      'FAILED',
      { leaseId: 'L', attempt: 1, expiredBefore: 99 },
      '#c_state = :c_from0 AND leaseId = :c_lid AND attempt = :c_attempt AND leaseExpiresAt < :c_expiredBefore',
      { ':c_from0': 'RUNNING', ':c_lid': 'L', ':c_attempt': 1, ':c_expiredBefore': 99 },
    ],
    [
      'requeue',
      'QUEUED',
      { leaseId: 'L', attempt: 1 },
      '#c_state = :c_from0 AND leaseId = :c_lid AND attempt = :c_attempt AND cancelRequested = :c_false',
      { ':c_from0': 'RUNNING', ':c_lid': 'L', ':c_attempt': 1, ':c_false': false },
    ],
    ['cancelQueued', 'CANCELLED', { attempt: 0 }, '#c_state = :c_from0 AND attempt = :c_attempt', { ':c_from0': 'QUEUED', ':c_attempt': 0 }],
    ['requestCancel', 'RUNNING', { attempt: 1 }, '#c_state = :c_from0 AND attempt = :c_attempt', { ':c_from0': 'RUNNING', ':c_attempt': 1 }],
    [
      'failDeadLettered',
      'FAILED',
      { attempt: 1, nowMs: 5 },
      '#c_state IN (:c_from0, :c_from1) AND attempt = :c_attempt AND (#c_state <> :c_running OR leaseExpiresAt < :c_nowMs)',
      { ':c_from0': 'QUEUED', ':c_from1': 'RUNNING', ':c_attempt': 1, ':c_running': 'RUNNING', ':c_nowMs': 5 },
    ],
    [
      'retryFinished',
      'QUEUED',
      { attempt: 3 },
      '#c_state IN (:c_from0, :c_from1, :c_from2, :c_from3) AND attempt = :c_attempt',
      { ':c_from0': 'SUCCEEDED', ':c_from1': 'FAILED', ':c_from2': 'CANCELLED', ':c_from3': 'TIMED_OUT', ':c_attempt': 3 },
    ],
    [
      'admit',
      'QUEUED',
      { attempt: 0 },
      '#c_state = :c_from0 AND attempt = :c_attempt AND attribute_exists(pendingKey) AND cancelRequested = :c_false',
      { ':c_from0': 'QUEUED', ':c_attempt': 0, ':c_false': false },
    ],
    [
      'unadmit',
      'QUEUED',
      { attempt: 1, priority: 5 },
      '#c_state = :c_from0 AND attempt = :c_attempt AND attribute_exists(admittedAt) AND attribute_not_exists(pendingKey) AND priority = :c_priority',
      { ':c_from0': 'QUEUED', ':c_attempt': 1, ':c_priority': 5 },
    ],
    [
      'reprioritize',
      'QUEUED',
      { attempt: 0, priority: 0 },
      '#c_state = :c_from0 AND attempt = :c_attempt AND (attribute_not_exists(priority) OR priority = :c_priority)',
      { ':c_from0': 'QUEUED', ':c_attempt': 0, ':c_priority': 0 },
    ],
    ['releaseHold', 'QUEUED', {}, '#c_state = :c_from0 AND attribute_exists(#c_hold)', { ':c_from0': 'QUEUED' }],
    ['failHeld', 'FAILED', {}, '#c_state = :c_from0 AND attribute_exists(#c_hold)', { ':c_from0': 'QUEUED' }],
    ['rewriteHold', 'QUEUED', {}, '#c_state = :c_from0 AND attribute_exists(#c_hold)', { ':c_from0': 'QUEUED' }],
  ];

  it.each(cases)('%s → %s', (name, to, given, expression, values) => {
    const names = { '#c_state': 'state', ...(expression.includes('#c_hold') ? { '#c_hold': 'hold' } : {}) };
    expect(transitionCondition(name, to, given)).toEqual({ expression, names, values });
  });

  // An array parent's writes: conditional on the counts the writer read (the snapshot its state is derived from).
  const counts = { arrayCountQUEUED: 0, arrayMaterialised: 4 };
  const countNames = { '#c_state': 'state', '#c_ac0': 'arrayCountQUEUED', '#c_ac1': 'arrayMaterialised' };
  const arrayCases: [TransitionName, JobState, string, Record<string, unknown>][] = [
    ['startArray', 'RUNNING', '#c_state = :c_from0 AND #c_ac0 = :c_ac0 AND #c_ac1 = :c_ac1 AND cancelRequested = :c_false', { ':c_from0': 'QUEUED', ':c_false': false }],
    ['finishArray', 'FAILED', '#c_state = :c_from0 AND #c_ac0 = :c_ac0 AND #c_ac1 = :c_ac1 AND cancelRequested = :c_false', { ':c_from0': 'RUNNING', ':c_false': false }],
    [
      'reopenArray',
      'QUEUED',
      '#c_state IN (:c_from0, :c_from1) AND #c_ac0 = :c_ac0 AND #c_ac1 = :c_ac1 AND cancelRequested = :c_false',
      { ':c_from0': 'SUCCEEDED', ':c_from1': 'FAILED', ':c_false': false },
    ],
    ['cancelArray', 'CANCELLED', '#c_state IN (:c_from0, :c_from1) AND #c_ac0 = :c_ac0 AND #c_ac1 = :c_ac1', { ':c_from0': 'QUEUED', ':c_from1': 'RUNNING' }],
  ];

  it.each(arrayCases)('%s → %s', (name, to, expression, values) => {
    expect(transitionCondition(name, to, { arrayCounts: counts })).toEqual({
      expression,
      names: countNames,
      values: { ...values, ':c_ac0': 0, ':c_ac1': 4 },
    });
  });

  it('covers every transition of the table', () => {
    expect(new Set([...cases.map(([name]) => name), ...arrayCases.map(([name]) => name)])).toEqual(new Set(Object.keys(TRANSITIONS)));
  });

  it('refuses a target the transition cannot reach, and a missing guard value', () => {
    expect(() => transitionCondition('finish', 'QUEUED', { leaseId: 'L', attempt: 1 })).toThrow(RangeError);
    expect(() => transitionCondition('claim', 'RUNNING', {})).toThrow(/needs attempt/);
    expect(() => transitionCondition('requeue', 'QUEUED', { attempt: 1 })).toThrow(/needs leaseId/);
    expect(() => transitionCondition('finishArray', 'SUCCEEDED', {})).toThrow(/needs arrayCounts/);
  });
});
