import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CapacityCounters } from '../../core/jobs/capacity-counters.ts';
import { DynamoDbJobStore } from '../../core/jobs/dynamodb-store.ts';
import type { Holding, Job } from '../../core/jobs/job.ts';
import { recoverLostAttempt } from '../../core/jobs/recovery.ts';
import { CapacityRefusedError } from '../../core/errors.ts';
import { AUDIT_TABLE, JOBS_TABLE, tableName } from '../../core/resources.ts';
import { createTestEnvironment, type TestEnvironment } from '../support/emulators.ts';
import { makeJob } from '../support/jobs.ts';

/**
 * A counter like the ones group quotas and array parallelism use: an item `COUNTER#<key>` whose
 * `running` may not pass `limit`. The port's promise is checked: the take is in the claim's
 * transaction, and every way a RUNNING state ends gives back exactly what the claim took.
 */
function limitCounter(table: string, limit: number): CapacityCounters {
  return {
    kind: 'test-limit',
    async acquire(job: Job) {
      const key = `COUNTER#${job.labels.counter ?? 'none'}`;
      return {
        holding: { kind: 'test-limit', key, amounts: { running: 1 } },
        action: {
          Update: {
            TableName: table,
            Key: { pk: key },
            UpdateExpression: 'ADD running :one',
            ConditionExpression: 'attribute_not_exists(running) OR running < :limit',
            ExpressionAttributeValues: { ':one': 1, ':limit': limit },
          },
        },
        refused: () => new CapacityRefusedError(job.id, 'GroupQuota', `counter ${key} is at its limit of ${limit}`),
      };
    },
    release(holding: Holding) {
      return {
        Update: {
          TableName: table,
          Key: { pk: holding.key },
          UpdateExpression: 'ADD running :minus',
          ExpressionAttributeValues: { ':minus': -(holding.amounts.running ?? 0) },
        },
      };
    },
  };
}

describe('capacity counters in the claim and exit transactions', () => {
  let env: TestEnvironment;
  let store: DynamoDbJobStore;
  let table: string;
  const now = new Date('2026-01-01T00:00:10Z');

  beforeAll(async () => {
    env = await createTestEnvironment();
    table = tableName(env.prefix, JOBS_TABLE);
    store = new DynamoDbJobStore({ client: env.documentClient, tableName: table, audit: { tableName: tableName(env.prefix, AUDIT_TABLE) }, counters: [limitCounter(table, 2)] });
  });
  afterAll(async () => env.cleanup());

  const running = async (key: string) =>
    ((await env.documentClient.send(new GetCommand({ TableName: table, Key: { pk: `COUNTER#${key}` }, ConsistentRead: true }))).Item?.running as number | undefined) ?? 0;
  const claim = (job: Job, leaseId: string, leaseExpiresAt = now.getTime() + 30_000) =>
    store.claimAttempt({ jobId: job.id, group: job.group, workerId: 'w1', leaseId, leaseExpiresAt, expectedAttempt: job.attempt, now, job });
  const queued = async (counter: string, overrides: Partial<Job> = {}) => {
    const job = makeJob({ labels: { counter }, maxAttempts: 3, ...overrides });
    await store.createJob(job);
    return job;
  };

  // Break verified: without the acquisition's action in the claim transaction, the third claim succeeds.
  it('refuses a claim past the limit, with the waiting code, leaving the job QUEUED', async () => {
    const jobs = await Promise.all([1, 2, 3].map(() => queued('a')));
    const results = await Promise.allSettled(jobs.map((j, i) => claim(j, `lease-${i}`)));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused).toHaveLength(1);
    expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(CapacityRefusedError);
    expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({ waitingCode: 'GroupQuota' });
    expect(await running('a')).toBe(2);
    const states = await Promise.all(jobs.map(async (j) => (await store.getJob(j.id))!.state));
    expect(states.sort()).toEqual(['QUEUED', 'RUNNING', 'RUNNING']);
  });

  // Break verified: dropping the release actions from finishAttempt/requeueAttempt leaves the counter at 2.
  it('gives back what the claim took on finish, requeue, recovery and dead letter', async () => {
    const [a, b, c, d] = await Promise.all([queued('b'), queued('b'), queued('c'), queued('c')]);
    const ra = await claim(a!, 'la');
    await claim(b!, 'lb');
    expect(ra.holdings).toEqual([{ kind: 'test-limit', key: 'COUNTER#b', amounts: { running: 1 }, takenAt: now.toISOString() }]);
    expect(await running('b')).toBe(2);
    await store.finishAttempt({ jobId: a!.id, group: 'default', leaseId: 'la', attempt: 1, holdings: ra.holdings, to: 'SUCCEEDED', exitCode: 0, reason: 'ok', now });
    expect(await running('b')).toBe(1);
    // The holdings are read from the item when the caller does not pass them.
    const back = await store.requeueAttempt({ jobId: b!.id, group: 'default', leaseId: 'lb', attempt: 1, exitCode: 1, reason: 'retry', retryAt: null, now });
    expect(back.holdings).toEqual([]);
    expect(await running('b')).toBe(0);
    // A lost worker's attempt (lease already expired) and a dead-lettered RUNNING job.
    const rc = await claim(c!, 'lc', now.getTime() - 1000);
    await claim(d!, 'ld', now.getTime() - 1000);
    expect(await running('c')).toBe(2);
    await recoverLostAttempt(store, rc, () => now, 'system:reaper');
    expect(await running('c')).toBe(1);
    await store.failDeadLettered((await store.getJob(d!.id))!, 'dead-lettered', now);
    expect(await running('c')).toBe(0);
  });

  it('gives nothing back when the fenced write is refused (a stale lease)', async () => {
    const job = await queued('e');
    const r = await claim(job, 'le');
    await expect(
      store.finishAttempt({ jobId: job.id, group: 'default', leaseId: 'not-ours', attempt: 1, holdings: r.holdings, to: 'FAILED', exitCode: 1, reason: 'x', now }),
    ).rejects.toThrow();
    expect(await running('e')).toBe(1);
  });
});
