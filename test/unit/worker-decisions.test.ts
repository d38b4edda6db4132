import { describe, expect, it } from 'vitest';
import type { JobExit } from '../../core/runtime/job-runtime.ts';
import { decideOutcome, planAttemptEnd, type StopCause } from '../../core/worker/attempt-outcome.ts';
import { decideDelivery, decideGpuAdmission } from '../../core/worker/delivery-decision.ts';
import { makeJob } from '../support/jobs.ts';

const exited = (exitCode: number | null, signal: NodeJS.Signals | null = null, extra: Partial<JobExit> = {}): JobExit => ({
  exitCode,
  signal,
  ...extra,
});

describe('decideOutcome: what an exit means', () => {
  const cases: [string, JobExit, StopCause | undefined, string, string][] = [
    ['clean exit', exited(0), undefined, 'SUCCEEDED', 'exited with code 0'],
    ['non-zero exit', exited(3), undefined, 'FAILED', 'exited with code 3'],
    ['signal', exited(null, 'SIGSEGV'), undefined, 'FAILED', 'killed by signal SIGSEGV'],
    ['start error', exited(null, null, { startError: 'spawn nope ENOENT' }), undefined, 'FAILED', 'could not start: spawn nope ENOENT'],
    ['memory kill', exited(null, 'SIGKILL', { memoryExceeded: true }), undefined, 'FAILED', 'out of memory: killed by signal SIGKILL for exceeding its memory limit'],
    ['cancel wins over the exit', exited(0), { kind: 'cancelled', by: 'alice' }, 'CANCELLED', 'cancelled by alice'],
    ['timeout wins over the signal', exited(null, 'SIGTERM'), { kind: 'timed-out', after: 5 }, 'TIMED_OUT', 'timed out after 5 s'],
  ];
  it.each(cases)('%s', (_name, exit, stop, state, reason) => {
    expect(decideOutcome(exit, stop)).toMatchObject({ state, reason });
  });
});

describe('planAttemptEnd: the retry plan', () => {
  const job = makeJob({ attempt: 1, maxAttempts: 3, retryOn: ['NONZERO'], retryDelaySeconds: 10 });
  it('abandons a fenced-out attempt without deciding anything else', () => {
    expect(planAttemptEnd(job, exited(0), { kind: 'lease-lost' })).toEqual({ kind: 'abandon' });
  });
  it('hands back a stopping worker’s attempt', () => {
    expect(planAttemptEnd(job, exited(null, 'SIGTERM'), { kind: 'handed-back' }).kind).toBe('hand-back');
  });
  it('retries a failure retryOn covers, naming the next attempt and the delay', () => {
    const end = planAttemptEnd(job, exited(2), undefined, () => 0);
    expect(end).toMatchObject({ kind: 'retry', delaySeconds: 5, reason: 'exited with code 2; retrying in 5 s (attempt 2 of 3)' });
  });
  it('finishes when attempts are used up or the failure is not covered', () => {
    expect(planAttemptEnd({ ...job, attempt: 3 }, exited(2), undefined).kind).toBe('finish');
    expect(planAttemptEnd(job, exited(null, null, { startError: 'x' }), undefined).kind).toBe('finish');
    expect(planAttemptEnd(job, exited(0), undefined)).toMatchObject({ kind: 'finish', outcome: { state: 'SUCCEEDED' } });
  });
});

describe('decideDelivery: what a delivery means', () => {
  const now = 1_000_000;
  const running = (expiresAt: number) => makeJob({ state: 'RUNNING', lease: { id: 'l', workerId: 'w', expiresAt } });
  const cases: [string, ReturnType<typeof makeJob> | undefined, boolean, string][] = [
    ['no job', undefined, false, 'drop-unknown'],
    ['finished job', makeJob({ state: 'SUCCEEDED' }), false, 'ack-finished'],
    ['queued job', makeJob({ state: 'QUEUED' }), false, 'claim'],
    ['job held for its dependencies', makeJob({ state: 'QUEUED', hold: { code: 'Dependency', message: 'waiting' } }), false, 'ack-held'],
    ['live lease, first look', running(now + 5_000), false, 'wait-for-lease'],
    ['live lease after waiting', running(now + 5_000), true, 'release-duplicate'],
    ['expired lease', running(now - 1), false, 'recover-lost-attempt'],
    ['expired lease after waiting', running(now - 1), true, 'recover-lost-attempt'],
  ];
  it.each(cases)('%s', (_name, job, waited, action) => {
    expect(decideDelivery(job, now, waited).action).toBe(action);
  });
  it('waits as long as the lease still runs', () => {
    expect(decideDelivery(running(now + 5_000), now, false)).toEqual({ action: 'wait-for-lease', remainingMs: 5_000 });
  });
});

describe('decideGpuAdmission', () => {
  it.each([
    [0, 0, true],
    [1, 0, false],
    [2, 2, true],
    [3, 2, false],
  ])('%i GPUs wanted of %i: admitted %s', (wanted, total, admit) => {
    expect(decideGpuAdmission(wanted, total).admit).toBe(admit);
  });
});

describe('planAttemptEnd with artifacts that could not be stored', () => {
  const job = makeJob({ attempt: 1, maxAttempts: 3, retryOn: ['NONZERO'], retryDelaySeconds: 10 });
  const lost = 'artifact out/model.bin could not be stored after 3 tries: Access Denied';
  it.each([
    ['a success whose results are lost fails, not retried', exited(0), 'finish', 'FAILED', `exited with code 0; artifacts not stored: ${lost}`],
    ['a failure keeps its own retry and says what was lost', exited(2), 'retry', 'FAILED', `exited with code 2; artifacts not stored: ${lost}`],
  ] as const)('%s', (_name, exit, kind, state, reason) => {
    const end = planAttemptEnd(job, exit, undefined, () => 0.5, lost);
    expect(end.kind).toBe(kind);
    expect(end.kind !== 'abandon' && end.outcome).toMatchObject({ state, reason });
  });
  it('changes nothing when every artifact was stored', () => {
    expect(planAttemptEnd(job, exited(0), undefined, () => 0.5, undefined)).toEqual({
      kind: 'finish',
      outcome: { state: 'SUCCEEDED', reason: 'exited with code 0' },
    });
  });
});
