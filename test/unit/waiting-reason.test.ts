import { describe, expect, it } from 'vitest';
import { waitingFor } from '../../core/jobs/waiting-reason.ts';
import type { GroupQuotaState } from '../../core/scaling/pool-scaling.ts';
import { makeJob } from '../support/jobs.ts';

/**
 * A job its group's quota holds back says GroupQuota even on a pool with no worker: the scaler does
 * not count it as demand (specs/11-scheduling.md, decision 24), so NoCapacity's "the scaler starts
 * a worker within a minute" would be a promise nobody keeps.
 */
describe('waitingFor: GroupQuota before NoCapacity', () => {
  const now = new Date('2026-01-01T00:01:00Z');
  const quota = (over: Partial<GroupQuotaState> = {}): GroupQuotaState => ({ name: 'default', maxGpus: null, maxRunningJobs: 2, runningJobs: 2, runningGpus: 0, ...over });

  // Break verified: dropping the quota check (the job says NoCapacity).
  it('says GroupQuota for a pending job whose group is at its quota, though no worker polls its queue', () => {
    const waiting = waitingFor(makeJob(), { now, workers: [], groupQuota: quota() });
    expect(waiting).toMatchObject({ code: 'GroupQuota', position: null });
    expect(waiting?.message).toContain('maxRunningJobs is 2');
  });

  it('counts GPUs against maxGpus only for a job that needs them', () => {
    const full = quota({ maxRunningJobs: null, maxGpus: 4, runningGpus: 4 });
    expect(waitingFor(makeJob({ resources: { gpus: 1, cpu: 1, memoryMiB: 1024 } }), { now, workers: [], groupQuota: full })?.code).toBe('GroupQuota');
    expect(waitingFor(makeJob({ resources: { gpus: 0, cpu: 1, memoryMiB: 1024 } }), { now, workers: [], groupQuota: full })?.code).toBe('NoCapacity');
  });

  it('says NoCapacity when the quota has room, or when the group could not be read', () => {
    expect(waitingFor(makeJob(), { now, workers: [], groupQuota: quota({ runningJobs: 1 }) })?.code).toBe('NoCapacity');
    expect(waitingFor(makeJob(), { now, workers: [] })?.code).toBe('NoCapacity');
  });

  it('leaves an admitted job (its quota is taken at the claim) and a held one alone', () => {
    expect(waitingFor(makeJob({ admittedAt: now.toISOString() }), { now, groupQuota: quota() })?.code).toBe('Queued');
    const held = makeJob({ hold: { code: 'Dependency', message: 'waits for J', dependsOn: [] } as never });
    expect(waitingFor(held, { now, workers: [], groupQuota: quota() })?.code).toBe('Dependency');
  });
});
