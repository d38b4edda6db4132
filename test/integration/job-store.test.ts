import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbJobStore } from '../../core/jobs/dynamodb-store.ts';
import type { JobStore } from '../../core/jobs/store.ts';
import { JobNotFoundError, JobNotInStateError, LeaseLostError, NotCancellableError, ValidationError } from '../../core/errors.ts';
import { AUDIT_TABLE, JOBS_TABLE, tableName } from '../../core/resources.ts';
import { createTestEnvironment, type TestEnvironment } from '../support/emulators.ts';
import { makeJob } from '../support/jobs.ts';
import type { Job } from '../../core/jobs/job.ts';

// One conformance suite per adapter; DynamoDB is the only job store, run against DynamoDB Local.
const adapters: [string, (env: TestEnvironment) => JobStore][] = [
  ['DynamoDbJobStore', (env) => new DynamoDbJobStore({ client: env.documentClient, tableName: tableName(env.prefix, JOBS_TABLE), audit: { tableName: tableName(env.prefix, AUDIT_TABLE) } })],
];

describe.each(adapters)('%s', (_name, create) => {
  let env: TestEnvironment;
  let store: JobStore;
  const now = new Date('2026-01-01T00:00:10Z');

  beforeAll(async () => {
    env = await createTestEnvironment();
    store = create(env);
  });
  afterAll(async () => env.cleanup());

  const claim = (jobId: string, leaseId = 'lease-1', expectedAttempt = 0) =>
    store.claimAttempt({ jobId, group: 'default', workerId: 'w1', leaseId, leaseExpiresAt: now.getTime() + 30_000, expectedAttempt, now });

  it('creates and reads back a job, refusing a duplicate id', async () => {
    const job = makeJob();
    await store.createJob(job);
    expect(await store.getJob(job.id)).toEqual(job);
    await expect(store.createJob(job)).rejects.toBeInstanceOf(JobNotInStateError);
    expect(await store.getJob('01ARZ3NDEKTSV4RRFFQ69G5FAV')).toBeUndefined();
  });

  it('claims a queued job once: a second claim of the same attempt fails', async () => {
    const job = makeJob();
    await store.createJob(job);
    const running = await claim(job.id);
    expect(running).toMatchObject({ state: 'RUNNING', attempt: 1, lease: { id: 'lease-1', workerId: 'w1' } });
    expect(running.attempts).toEqual([{ attempt: 1, workerId: 'w1', startedAt: now.toISOString() }]);
    expect(running.history.map((h) => h.to)).toEqual(['QUEUED', 'RUNNING']);
    await expect(claim(job.id, 'lease-2')).rejects.toMatchObject({ found: 'RUNNING' });
    await expect(claim('01ARZ3NDEKTSV4RRFFQ69G5FAV')).rejects.toBeInstanceOf(JobNotFoundError);
  });

  // Break verified: the claim condition without `attempt = :expected`.
  it('refuses a claim made on a stale read: the job went back to the queue under a newer attempt', async () => {
    const job = makeJob({ maxAttempts: 3 });
    await store.createJob(job);
    await claim(job.id, 'lease-a', 0);
    await store.requeueAttempt({ jobId: job.id, group: 'default', leaseId: 'lease-a', attempt: 1, exitCode: 1, reason: 'exited with code 1', retryAt: null, now });
    // A worker that read the job before attempt 1 claims it now: it is QUEUED again, but not at attempt 0.
    await expect(claim(job.id, 'lease-stale', 0)).rejects.toMatchObject({ found: 'QUEUED' });
    // Two workers racing with the same (current) read: exactly one attempt 2.
    const results = await Promise.allSettled([claim(job.id, 'lease-b', 1), claim(job.id, 'lease-c', 1)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const current = await store.getJob(job.id);
    expect(current).toMatchObject({ state: 'RUNNING', attempt: 2 });
    expect(current?.attempts.map((a) => a.attempt)).toEqual([1, 2]);
  });

  // Break verified: the requeue condition without `cancelRequested = :false`.
  it('refuses to requeue an attempt whose job someone asked to cancel, saying the lease is still ours', async () => {
    const job = makeJob({ maxAttempts: 3 });
    await store.createJob(job);
    await claim(job.id, 'lease-r');
    await store.requestCancel(job.id, 'carol', now);
    const requeue = store.requeueAttempt({ jobId: job.id, group: 'default', leaseId: 'lease-r', attempt: 1, exitCode: 1, reason: 'exited with code 1', retryAt: null, now });
    await expect(requeue).rejects.toBeInstanceOf(LeaseLostError);
    await expect(requeue).rejects.toMatchObject({ found: { state: 'RUNNING', leaseId: 'lease-r', cancelRequested: true } });
    expect(await store.getJob(job.id)).toMatchObject({ state: 'RUNNING', attempt: 1, cancelRequested: true });
  });

  it('fences renewals and completion by the lease', async () => {
    const job = makeJob();
    await store.createJob(job);
    await claim(job.id, 'lease-a');
    await expect(store.renewLease(job.id, 'stale', 1)).rejects.toBeInstanceOf(LeaseLostError);
    const renewed = await store.renewLease(job.id, 'lease-a', now.getTime() + 60_000);
    expect(renewed.lease?.expiresAt).toBe(now.getTime() + 60_000);
    const finish = { jobId: job.id, group: 'default', attempt: 1, to: 'FAILED' as const, exitCode: 3, reason: 'exited with code 3', now };
    await expect(store.finishAttempt({ ...finish, leaseId: 'stale' })).rejects.toBeInstanceOf(LeaseLostError);
    const done = await store.finishAttempt({ ...finish, leaseId: 'lease-a' });
    expect(done).toMatchObject({ state: 'FAILED', exitCode: 3, reason: 'exited with code 3', lease: null });
    expect(done.attempts[0]).toMatchObject({ exitCode: 3, reason: 'exited with code 3', finishedAt: now.toISOString() });
    // Terminal: the same lease cannot finish twice.
    await expect(store.finishAttempt({ ...finish, leaseId: 'lease-a', to: 'SUCCEEDED' })).rejects.toBeInstanceOf(LeaseLostError);
  });

  // Break verified: admitJob without `runningKey = #queue` (the admitted job is not on the list);
  // cancel or unadmit without removing it (a cancelled or pending job still holds capacity).
  it('lists a pool\'s holdings as one list: a job is on it from its admission, through its claim, to its end', async () => {
    const queue = `holdings-${Date.now()}`;
    const holdings = async () => (await store.listHoldings(queue, 100)).items.map((j) => [j.id, j.state]);
    const [finished, unadmitted, cancelled] = [makeJob({ queue }), makeJob({ queue }), makeJob({ queue })];
    for (const job of [finished, unadmitted, cancelled]) await store.createJob(job);
    expect(await holdings()).toEqual([]);
    for (const job of [finished, unadmitted, cancelled]) expect(await store.admitJob(job, now, 'w1')).toBe(true);
    expect(new Set(await holdings())).toEqual(new Set([[finished.id, 'QUEUED'], [unadmitted.id, 'QUEUED'], [cancelled.id, 'QUEUED']]));
    expect((await store.listRunningJobs(queue, 100)).items).toEqual([]);

    await claim(finished.id);
    expect(await holdings()).toContainEqual([finished.id, 'RUNNING']);
    expect((await store.listRunningJobs(queue, 100)).items.map((j) => j.id)).toEqual([finished.id]);
    expect(await store.unadmitJob(unadmitted)).toBe(true);
    await store.requestCancel(cancelled.id, 'alice', now);
    expect(await holdings()).toEqual([[finished.id, 'RUNNING']]);

    await store.finishAttempt({ jobId: finished.id, group: 'default', attempt: 1, to: 'SUCCEEDED', exitCode: 0, reason: 'exited with code 0', leaseId: 'lease-1', now });
    expect(await holdings()).toEqual([]);
    // What the items carry, not only what the list filters: nothing but a holding is on the index.
    const onIndex = await env.documentClient.send(
      new QueryCommand({ TableName: tableName(env.prefix, JOBS_TABLE), IndexName: 'running', KeyConditionExpression: 'runningKey = :q', ExpressionAttributeValues: { ':q': queue } }),
    );
    expect(onIndex.Items).toEqual([]);
  });

  it('cancels a queued job at once and marks a running job cancel-requested', async () => {
    const queued = makeJob();
    await store.createJob(queued);
    const cancelled = await store.requestCancel(queued.id, 'alice', now);
    expect(cancelled).toMatchObject({ state: 'CANCELLED', reason: 'cancelled by alice' });
    await expect(claim(queued.id)).rejects.toBeInstanceOf(JobNotInStateError);
    await expect(store.requestCancel(queued.id, 'alice', now)).rejects.toBeInstanceOf(NotCancellableError);

    const running = makeJob();
    await store.createJob(running);
    await claim(running.id);
    const requested = await store.requestCancel(running.id, 'bob', now);
    expect(requested).toMatchObject({ state: 'RUNNING', cancelRequested: true });
    expect((await store.renewLease(running.id, 'lease-1', 1)).cancelRequested).toBe(true);
    await expect(store.requestCancel('01ARZ3NDEKTSV4RRFFQ69G5FAV', 'bob', now)).rejects.toBeInstanceOf(JobNotFoundError);
  });

  it('lists newest first by group, state and queue with cursors, and lists pending jobs per queue', async () => {
    const group = 'listing';
    const jobs: Job[] = [];
    for (let i = 0; i < 5; i++) {
      const job = makeJob({ group, queue: i % 2 === 0 ? 'default' : 'gpu' });
      await store.createJob(job);
      jobs.push(job);
    }
    const first = await store.listJobs({ group, limit: 3 });
    expect(first.items.map((j) => j.id)).toEqual([jobs[4]!.id, jobs[3]!.id, jobs[2]!.id]);
    const second = await store.listJobs({ group, limit: 3, cursor: first.nextCursor! });
    expect(second.items.map((j) => j.id)).toEqual([jobs[1]!.id, jobs[0]!.id]);
    const gpu = await store.listJobs({ group, queue: 'gpu', limit: 10 });
    expect(gpu.items.map((j) => j.id)).toEqual([jobs[3]!.id, jobs[1]!.id]);
    const queuedGpu = await store.listJobs({ group, state: 'QUEUED', queue: 'gpu', limit: 10 });
    expect(queuedGpu.items.map((j) => j.id)).toEqual([jobs[3]!.id, jobs[1]!.id]);
    expect((await store.listJobs({ group: 'nobody', limit: 10 })).items).toEqual([]);
    await expect(store.listJobs({ group, limit: 3, cursor: 'garbage!' })).rejects.toBeInstanceOf(ValidationError);
    const waiting = (await store.listPendingHeads('gpu', 100)).get(group) ?? [];
    expect(waiting.map((j) => j.id)).toEqual([jobs[1]!.id, jobs[3]!.id]);
    // The indexes hold keys only: every list still answers whole jobs, read from the table.
    expect(first.items[0]).toEqual(jobs[4]);
    expect(queuedGpu.items[0]).toEqual(jobs[3]);
    await claim(jobs[0]!.id, 'lease-listed');
    const running = await store.listRunningJobs('default', 100);
    expect(running.items.find((j) => j.id === jobs[0]!.id)).toMatchObject({ state: 'RUNNING', command: jobs[0]!.command, lease: { id: 'lease-listed' } });
    expect((await store.listJobs({ group, state: 'QUEUED', limit: 10 })).items.map((j) => j.id)).not.toContain(jobs[0]!.id);
  });

  it('reads an attempt\'s status cheaply and marks a live job\'s output watched', async () => {
    const job = makeJob();
    await store.createJob(job);
    expect(await store.readAttemptStatus(job.id)).toEqual({
      state: 'QUEUED',
      attempt: 0,
      leaseId: null,
      cancelRequested: false,
      cancelRequestedBy: null,
      outputWatchedUntil: null,
    });
    expect(await store.markOutputWatched(job.id, now.getTime() + 30_000)).toBe(true);
    await claim(job.id, 'lease-w');
    await store.requestCancel(job.id, 'dora', now);
    expect(await store.readAttemptStatus(job.id)).toEqual({
      state: 'RUNNING',
      attempt: 1,
      leaseId: 'lease-w',
      cancelRequested: true,
      cancelRequestedBy: 'dora',
      outputWatchedUntil: now.getTime() + 30_000,
    });
    expect((await store.getJob(job.id))?.outputWatchedUntil).toBe(now.getTime() + 30_000);
    await store.finishAttempt({ jobId: job.id, group: 'default', leaseId: 'lease-w', attempt: 1, to: 'CANCELLED', exitCode: null, reason: 'cancelled by dora', now });
    // A finished job's output is complete: nothing to watch.
    expect(await store.markOutputWatched(job.id, now.getTime() + 60_000)).toBe(false);
    expect(await store.markOutputWatched('01ARZ3NDEKTSV4RRFFQ69G5FAV', now.getTime())).toBe(false);
    expect(await store.readAttemptStatus('01ARZ3NDEKTSV4RRFFQ69G5FAV')).toBeUndefined();
  });
});
