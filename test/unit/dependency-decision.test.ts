import { describe, expect, it } from 'vitest';
import { newJobId } from '../../core/ids.ts';
import { corrDependencies, dependsOnSchema, type Dependency, type DependencyType } from '../../core/jobs/dependencies.ts';
import { decideDependencies, dependencyHold, dependencyStatus, neverSatisfiedReason } from '../../core/jobs/dependency-decision.ts';
import type { JobState } from '../../core/jobs/job.ts';

describe('dependencyStatus: one dependency against its job state', () => {
  const cases: [DependencyType, JobState | undefined, 'met' | 'pending' | 'never'][] = [
    ['afterok', 'QUEUED', 'pending'],
    ['afterok', 'RUNNING', 'pending'],
    ['afterok', 'SUCCEEDED', 'met'],
    ['afterok', 'FAILED', 'never'],
    ['afterok', 'CANCELLED', 'never'],
    ['afterok', 'TIMED_OUT', 'never'],
    ['afterany', 'RUNNING', 'pending'],
    ['afterany', 'SUCCEEDED', 'met'],
    ['afterany', 'FAILED', 'met'],
    ['afterany', 'CANCELLED', 'met'],
    ['afterany', 'TIMED_OUT', 'met'],
    ['afternotok', 'QUEUED', 'pending'],
    ['afternotok', 'SUCCEEDED', 'never'],
    ['afternotok', 'FAILED', 'met'],
    ['afternotok', 'CANCELLED', 'met'],
    ['afternotok', 'TIMED_OUT', 'met'],
    // On a job that is not an array child, aftercorr is afterok on the job named.
    ['aftercorr', 'SUCCEEDED', 'met'],
    ['aftercorr', 'FAILED', 'never'],
    ['aftercorr', 'RUNNING', 'pending'],
    // A dependency that no longer exists can never be satisfied, whatever the type.
    ['afterany', undefined, 'never'],
  ];
  it.each(cases)('%s on %s → %s', (type, state, expected) => {
    expect(dependencyStatus(type, state)).toBe(expected);
  });
});

describe('decideDependencies: the job as a whole', () => {
  const a = newJobId();
  const b = newJobId();
  const dep = (job: string, type: DependencyType): Dependency => ({ job, type });

  it('is satisfied when every dependency is met', () => {
    const states = new Map<string, JobState>([[a, 'SUCCEEDED'], [b, 'FAILED']]);
    expect(decideDependencies([dep(a, 'afterok'), dep(b, 'afternotok')], states)).toEqual({ kind: 'satisfied' });
  });

  it('waits while any is pending, naming each pending one with its state', () => {
    const states = new Map<string, JobState>([[a, 'SUCCEEDED'], [b, 'RUNNING']]);
    const decision = decideDependencies([dep(a, 'afterok'), dep(b, 'afterany')], states);
    expect(decision).toEqual({ kind: 'waiting', on: [{ job: b, type: 'afterany', state: 'RUNNING' }] });
    expect(dependencyHold(decision.kind === 'waiting' ? decision.on : [])).toEqual({
      code: 'Dependency',
      message: `waiting for afterany:${b} (RUNNING)`,
    });
  });

  it('is never satisfiable as soon as one is not, even while others are pending', () => {
    const states = new Map<string, JobState>([[a, 'RUNNING'], [b, 'CANCELLED']]);
    const decision = decideDependencies([dep(a, 'afterok'), dep(b, 'afterok')], states);
    expect(decision).toEqual({ kind: 'never', dependency: dep(b, 'afterok'), state: 'CANCELLED' });
    expect(neverSatisfiedReason(decision as Extract<typeof decision, { kind: 'never' }>)).toBe(
      `dependency afterok:${b} can never be satisfied: it ended CANCELLED`,
    );
  });

  it('names the first few in a hold, then a count', () => {
    const on = Array.from({ length: 7 }, () => ({ job: newJobId(), type: 'afterok' as const, state: 'QUEUED' as const }));
    expect(dependencyHold(on).message).toMatch(/^waiting for (afterok:\w+ \(QUEUED\), ){4}afterok:\w+ \(QUEUED\) and 2 more$/);
  });
});

describe('dependsOn in the job spec', () => {
  it('accepts up to 100 and refuses more, duplicates, unknown types and bad ids', () => {
    const hundred = Array.from({ length: 100 }, () => ({ job: newJobId(), type: 'afterok' }));
    expect(dependsOnSchema.safeParse(hundred).success).toBe(true);
    expect(dependsOnSchema.safeParse([...hundred, { job: newJobId(), type: 'afterok' }]).success).toBe(false);
    const one = { job: newJobId(), type: 'afterany' };
    expect(dependsOnSchema.safeParse([one, one]).success).toBe(false);
    expect(dependsOnSchema.safeParse([{ job: newJobId(), type: 'after' }]).success).toBe(false);
    expect(dependsOnSchema.safeParse([{ job: 'not-an-id', type: 'afterok' }]).success).toBe(false);
  });
});

describe('corrDependencies: what child i of an array depends on', () => {
  const childId = (parent: string, index: number) => `${parent}-${index}`;
  const a = newJobId();
  const b = newJobId();

  it('maps aftercorr on A to afterok on A-i and keeps the others as written', () => {
    expect(corrDependencies([{ job: a, type: 'aftercorr' }, { job: b, type: 'afterany' }], 3, childId)).toEqual([
      { job: `${a}-3`, type: 'afterok' },
      { job: b, type: 'afterany' },
    ]);
  });

  it('pairs equal indexes only', () => {
    const deps = [{ job: a, type: 'aftercorr' as const }];
    expect(corrDependencies(deps, 0, childId)).toEqual([{ job: `${a}-0`, type: 'afterok' }]);
    expect(corrDependencies(deps, 9, childId)).toEqual([{ job: `${a}-9`, type: 'afterok' }]);
  });
});
