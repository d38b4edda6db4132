import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAuditLog } from '../../core/audit/dynamodb-audit-log.ts';
import { CapacityRefusedError } from '../../core/errors.ts';
import { DynamoDbGroupStore } from '../../core/groups/dynamodb-group-store.ts';
import { GroupQuotaCounters } from '../../core/groups/group-quota-counters.ts';
import type { GroupRecord } from '../../core/groups/group.ts';
import { DynamoDbJobStore } from '../../core/jobs/dynamodb-store.ts';
import type { Job } from '../../core/jobs/job.ts';
import { recoverLostAttempt } from '../../core/jobs/recovery.ts';
import { AUDIT_TABLE, JOBS_TABLE, tableName } from '../../core/resources.ts';
import { createTestEnvironment, type TestEnvironment } from '../support/emulators.ts';
import { makeJob } from '../support/jobs.ts';

const H = 24 * 3600;

/**
 * Group quotas through the real job store on DynamoDB Local: the take is in the claim's
 * transaction, every way a RUNNING state ends gives it back and records the GPU-seconds held, and
 * a limit changed between the take's read and its transaction is read again.
 */
describe('group quota counters', () => {
  let env: TestEnvironment;
  let store: DynamoDbJobStore;
  let groups: DynamoDbGroupStore;
  let audit: DynamoDbAuditLog;
  const t0 = new Date('2026-03-01T00:00:00Z');
  const at = (s: number) => new Date(t0.getTime() + s * 1000);

  function jobStore(groupStore: DynamoDbGroupStore) {
    const table = tableName(env.prefix, JOBS_TABLE);
    return new DynamoDbJobStore({
      client: env.documentClient,
      tableName: table,
      audit,
      counters: [new GroupQuotaCounters({ groups: groupStore, tableName: table, usageHalfLifeSeconds: H })],
    });
  }

  beforeAll(async () => {
    env = await createTestEnvironment();
    audit = new DynamoDbAuditLog({ client: env.documentClient, tableName: tableName(env.prefix, AUDIT_TABLE) });
    groups = new DynamoDbGroupStore({ client: env.documentClient, tableName: tableName(env.prefix, JOBS_TABLE), audit });
    store = jobStore(groups);
  }, 60_000);
  afterAll(async () => env?.cleanup());

  const queued = async (group: string, gpus: number) => {
    const job = makeJob({ group, resources: { gpus, cpu: 1, memoryMiB: 64 }, maxAttempts: 3 });
    await store.createJob(job);
    return job;
  };
  const claim = (s: DynamoDbJobStore, job: Job, leaseId: string, now: Date, leaseMs = 30_000) =>
    s.claimAttempt({ jobId: job.id, group: job.group, workerId: 'w1', leaseId, leaseExpiresAt: now.getTime() + leaseMs, expectedAttempt: job.attempt, now, job });
  const group = async (name: string) => (await groups.readMany([name])).get(name)!;

  // Break verified: with the `runningGpus <= :gpuRoom` condition removed, all three claims succeed.
  it('refuses a claim past maxGpus under concurrent claims, naming the limit, and counts unconfigured groups', async () => {
    await groups.updateSettings('quota-a', { maxGpus: 4 }, 'admin', t0);
    const jobs = await Promise.all([2, 2, 2].map((g) => queued('quota-a', g)));
    const results = await Promise.allSettled(jobs.map((j, i) => claim(store, j, `l${i}`, t0)));
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.reason).toBeInstanceOf(CapacityRefusedError);
    expect(refused[0]!.reason).toMatchObject({ waitingCode: 'GroupQuota' });
    expect((refused[0]!.reason as Error).message).toMatch(/quota-a is at its GPU quota: 4 of 4 GPUs in use, the job needs 2/);
    expect(await group('quota-a')).toMatchObject({ runningGpus: 4, runningJobs: 2 });
    // A group nobody configured has no limit, but its use is counted and it is listed.
    const free = await queued('unconfigured', 3);
    await claim(store, free, 'lf', t0);
    expect(await group('unconfigured')).toMatchObject({ runningGpus: 3, runningJobs: 1, maxGpus: null });
    expect(await groups.listNames()).toEqual(expect.arrayContaining(['quota-a', 'unconfigured']));
  });

  // Break verified: with the `runningJobs <= :jobRoom` condition removed, the second claim succeeds.
  it('refuses past maxRunningJobs, also for GPU-less jobs, and a job bigger than the quota at once', async () => {
    await groups.updateSettings('quota-b', { maxRunningJobs: 1, maxGpus: 2 }, 'admin', t0);
    const [a, b, big] = await Promise.all([queued('quota-b', 0), queued('quota-b', 0), queued('quota-b', 3)]);
    await claim(store, a!, 'la', t0);
    await expect(claim(store, b!, 'lb', t0)).rejects.toThrow(/running-jobs quota: 1 of 1 jobs running/);
    await expect(claim(store, big!, 'lbig', t0)).rejects.toThrow(/needs 3 GPUs, more than group quota-b's quota of 2 GPUs/);
    expect((await store.getJob(b!.id))!.state).toBe('QUEUED');
  });

  // Break verified: without the settingsVersion condition the claim on the stale limit succeeds (3 of 2 GPUs).
  it('reads the limits again when they change between the read and the claim', async () => {
    await groups.updateSettings('quota-c', { maxGpus: 3 }, 'admin', t0);
    const first = await queued('quota-c', 1);
    await claim(store, first, 'l1', t0);
    // A group store whose first read is followed, before the claim's transaction, by an admin lowering the quota.
    let lowered = false;
    const racing = new (class extends DynamoDbGroupStore {
      override async read(name: string): Promise<GroupRecord | undefined> {
        const found = await super.read(name);
        if (!lowered) {
          lowered = true;
          await groups.updateSettings(name, { maxGpus: 2 }, 'admin', t0);
        }
        return found;
      }
    })({ client: env.documentClient, tableName: tableName(env.prefix, JOBS_TABLE) });
    const second = await queued('quota-c', 2);
    await expect(claim(jobStore(racing), second, 'l2', t0)).rejects.toThrow(/quota-c is at its GPU quota: 1 of 2 GPUs in use/);
    expect(lowered).toBe(true);
    expect(await group('quota-c')).toMatchObject({ runningGpus: 1, maxGpus: 2 });
    // Raised again, the same claim goes through on the new limit.
    await groups.updateSettings('quota-c', { maxGpus: 3 }, 'admin', t0);
    await claim(store, second, 'l3', t0);
    expect(await group('quota-c')).toMatchObject({ runningGpus: 3, runningJobs: 2 });
  });

  // Break verified: dropping the release actions leaves the counters at 4 GPUs / 4 jobs.
  it('gives back on finish, hand-back, a lost worker and a dead letter, and records the GPU-seconds held', async () => {
    await groups.updateSettings('quota-d', { maxGpus: 8 }, 'admin', t0);
    const [a, b, c, d] = await Promise.all([queued('quota-d', 1), queued('quota-d', 1), queued('quota-d', 1), queued('quota-d', 1)]);
    const ra = await claim(store, a!, 'la', t0);
    await claim(store, b!, 'lb', t0);
    const rc = await claim(store, c!, 'lc', t0, 1_000);
    await claim(store, d!, 'ld', t0, 1_000);
    expect(await group('quota-d')).toMatchObject({ runningGpus: 4, runningJobs: 4 });
    expect(ra.holdings).toEqual([{ kind: 'group', key: 'quota-d', amounts: { runningGpus: 1, runningJobs: 1 }, takenAt: t0.toISOString() }]);
    // Finished after 100 s, handed back after 100 s.
    await store.finishAttempt({ jobId: a!.id, group: 'quota-d', leaseId: 'la', attempt: 1, holdings: ra.holdings, to: 'SUCCEEDED', exitCode: 0, reason: 'ok', now: at(100) });
    await store.requeueAttempt({ jobId: b!.id, group: 'quota-d', leaseId: 'lb', attempt: 1, exitCode: null, reason: 'handed back', retryAt: null, now: at(100) });
    expect(await group('quota-d')).toMatchObject({ runningGpus: 2, runningJobs: 2 });
    // A lost worker (its lease ran out) recovered at 100 s; a RUNNING job dead-lettered at 100 s.
    await recoverLostAttempt(store, rc, () => at(100), 'system:reaper');
    await store.failDeadLettered((await store.getJob(d!.id))!, 'dead-lettered', at(100));
    const after = await group('quota-d');
    expect(after).toMatchObject({ runningGpus: 0, runningJobs: 0 });
    // Four holdings of 1 GPU for 100 s, read at the last release: ≈ 400 GPU-seconds.
    const [view] = await groups.get(['quota-d'], at(100)).then((m) => [...m.values()]);
    expect(view!.decayedGpuSeconds).toBeGreaterThan(399);
    expect(view!.decayedGpuSeconds).toBeLessThanOrEqual(400);
    // One half-life later, half.
    const later = (await groups.get(['quota-d'], at(100 + H))).get('quota-d')!;
    expect(later.decayedGpuSeconds).toBeCloseTo(view!.decayedGpuSeconds / 2, 6);
  });

  it('audits each settings change with its from and to, in the same transaction, and answers defaults for unknown groups', async () => {
    const updated = await groups.updateSettings('quota-e', { weight: 3 }, 'apikey:admin1', t0);
    expect(updated).toMatchObject({ weight: 3, maxGpus: null, settingsVersion: 1 });
    await groups.updateSettings('quota-e', { maxGpus: 5, maxRunningJobs: null }, 'apikey:admin1', t0);
    const entries = (await audit.list({ limit: 1000 })).entries.filter((e) => e.target === 'group:quota-e');
    expect(entries.map((e) => [e.action, e.actor, e.details])).toEqual([
      ['group.update', 'apikey:admin1', { group: 'quota-e', from: { maxGpus: null, maxRunningJobs: null, weight: 1 }, to: { maxGpus: null, maxRunningJobs: null, weight: 3 } }],
      ['group.update', 'apikey:admin1', { group: 'quota-e', from: { maxGpus: null, maxRunningJobs: null, weight: 3 }, to: { maxGpus: 5, maxRunningJobs: null, weight: 3 } }],
    ]);
    expect((await groups.get(['never-seen'], t0)).get('never-seen')).toEqual({
      name: 'never-seen', weight: 1, maxGpus: null, maxRunningJobs: null, runningGpus: 0, runningJobs: 0, decayedGpuSeconds: 0,
    });
  });
});
