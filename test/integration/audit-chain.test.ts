import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbAuditLog, TransactionRefusedError } from '../../core/audit/dynamodb-audit-log.ts';
import { createDocumentClient } from '../../core/aws/dynamodb-client.ts';
import type { AuditEntryView } from '../../core/audit/audit-log.ts';
import { LOCAL_CALLER } from '../../core/auth/caller.ts';
import { JobNotInStateError, LeaseLostError, NotCancellableError } from '../../core/errors.ts';
import { DynamoDbJobStore } from '../../core/jobs/dynamodb-store.ts';
import { recoverLostAttempt } from '../../core/jobs/recovery.ts';
import { AUDIT_TABLE, JOBS_TABLE, tableName } from '../../core/resources.ts';
import { createTestEnvironment, type TestEnvironment } from '../support/emulators.ts';
import { makeJob } from '../support/jobs.ts';
import { platformParts } from '../support/platform-parts.ts';

const now = new Date('2026-01-01T00:00:10Z');

async function allEntries(audit: DynamoDbAuditLog): Promise<AuditEntryView[]> {
  const entries: AuditEntryView[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await audit.list({ limit: 7, ...(after ? { after } : {}) });
    entries.push(...page.entries);
    after = page.next;
    if (!page.hasMore) return entries;
  }
}

const forTarget = (entries: AuditEntryView[], jobId: string) => entries.filter((e) => e.target === `job:${jobId}`);

describe('audit chain written with every job change', () => {
  let env: TestEnvironment;
  let parts: ReturnType<typeof platformParts>;
  let audit: DynamoDbAuditLog;

  beforeAll(async () => {
    env = await createTestEnvironment();
    parts = platformParts(env);
    audit = parts.store.audit;
  });
  afterAll(async () => env.cleanup());

  const claim = (jobId: string, leaseId: string, expectedAttempt = 0, at = now) =>
    parts.store.claimAttempt({
      jobId,
      group: 'default',
      workerId: 'w1',
      leaseId,
      leaseExpiresAt: at.getTime() + 30_000,
      expectedAttempt,
      now: at,
      actor: 'worker:w1',
    });

  it('records each mutation, in order per job, with who did it', async () => {
    // Submit (with a key: its replay adds nothing), claim, requeue, claim, finish, retry, claim,
    // recovery of the lost attempt, dead-letter.
    const { job } = await parts.service.submit({ command: ['true'], maxAttempts: 5 }, LOCAL_CALLER, { idempotencyKey: 'k1' });
    await parts.service.submit({ command: ['true'], maxAttempts: 5 }, LOCAL_CALLER, { idempotencyKey: 'k1' });
    await claim(job.id, 'l1');
    const fence = (leaseId: string, attempt: number) => ({ jobId: job.id, group: 'default', leaseId, attempt, now, actor: 'worker:w1' });
    await parts.store.requeueAttempt({ ...fence('l1', 1), exitCode: 3, reason: 'exited with code 3', retryAt: null });
    await claim(job.id, 'l2', 1);
    await parts.store.finishAttempt({ ...fence('l2', 2), to: 'FAILED', exitCode: 1, reason: 'exited with code 1' });
    await parts.service.retry(job.id, LOCAL_CALLER);
    const running = await claim(job.id, 'l3', 2, new Date(now.getTime() - 120_000));
    const recovered = await recoverLostAttempt(parts.store, running, () => now, 'system:reaper');
    expect(recovered.state).toBe('QUEUED');
    await parts.store.failDeadLettered(recovered, 'dead-lettered after 5 deliveries', now);

    const entries = forTarget(await allEntries(audit), job.id);
    expect(entries.map((e) => [e.actor, e.action])).toEqual([
      ['local', 'job.submit'],
      ['worker:w1', 'job.claim'],
      ['worker:w1', 'job.requeue'],
      ['worker:w1', 'job.claim'],
      ['worker:w1', 'job.finish'],
      ['local', 'job.retry'],
      ['worker:w1', 'job.claim'],
      ['system:reaper', 'job.recover'],
      ['system:dead-letter', 'job.dead-letter'],
    ]);
    expect(entries[4]!.details).toMatchObject({ from: 'RUNNING', to: 'FAILED', exitCode: 1, attempt: 2, leaseId: 'l2', group: 'default' });
    expect(entries[0]!.details).toMatchObject({ queue: 'default', command: ['true'], envNames: [] });
    // One process writes to one shard while nobody else does.
    expect(new Set(entries.map((e) => e.shard)).size).toBe(1);

    // Cancels: a queued job at once, a running one by request.
    const queued = (await parts.service.submit({ command: ['true'] }, LOCAL_CALLER)).job;
    await parts.service.cancel(queued.id, LOCAL_CALLER);
    const other = (await parts.service.submit({ command: ['true'] }, LOCAL_CALLER)).job;
    await claim(other.id, 'l9');
    await parts.service.cancel(other.id, LOCAL_CALLER);
    const all = await allEntries(audit);
    expect(forTarget(all, queued.id).map((e) => e.action)).toEqual(['job.submit', 'job.cancel']);
    expect(forTarget(all, other.id).map((e) => e.action)).toEqual(['job.submit', 'job.claim', 'job.cancel-request']);
    expect(await audit.verify()).toMatchObject({ ok: true, entries: all.length, shards: 64 });
  });

  it('leaves no entry (and no change) when the change is refused', async () => {
    const cancelled = (await parts.service.submit({ command: ['true'] }, LOCAL_CALLER)).job;
    await parts.service.cancel(cancelled.id, LOCAL_CALLER);
    const running = (await parts.service.submit({ command: ['true'] }, LOCAL_CALLER)).job;
    await claim(running.id, 'live');
    const before = await audit.readAllChains();
    const count = (chains: typeof before) => chains.shards.reduce((n, s) => n + s.items.length, 0);

    await expect(claim(cancelled.id, 'too-late')).rejects.toBeInstanceOf(JobNotInStateError);
    await expect(
      parts.store.finishAttempt({ jobId: running.id, group: 'default', leaseId: 'stale', attempt: 1, to: 'SUCCEEDED', exitCode: 0, reason: 'x', now }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await expect(
      parts.store.requeueAttempt({ jobId: running.id, group: 'default', leaseId: 'live', attempt: 1, exitCode: 1, reason: 'x', retryAt: null, now, expiredBefore: 0 }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await expect(parts.store.requestCancel(cancelled.id, 'bob', now)).rejects.toBeInstanceOf(NotCancellableError);
    await expect(parts.store.failDeadLettered({ ...running, state: 'RUNNING', attempt: 1 }, 'dead', now)).rejects.toBeInstanceOf(JobNotInStateError);
    await expect(parts.store.retryFinishedJob({ ...running, state: 'FAILED', attempt: 1 }, 'bob', now)).rejects.toBeInstanceOf(JobNotInStateError);
    await expect(parts.store.createJob({ ...makeJob(), id: running.id })).rejects.toBeInstanceOf(JobNotInStateError);

    const after = await audit.readAllChains();
    expect(count(after)).toBe(count(before));
    expect(after).toEqual(before);
    expect((await parts.store.getJob(running.id))?.lease?.id).toBe('live');
  });

  it('refuses a record that could not be verified later, before writing anything', async () => {
    const job = makeJob();
    await expect(
      audit.transact({
        items: [{ Put: { TableName: tableName(env.prefix, JOBS_TABLE), Item: { pk: `JOB#${job.id}` } } }],
        record: { actor: 'a', action: 'job.submit', target: `job:${job.id}`, details: { big: 2 ** 60 } },
      }),
    ).rejects.toThrow(/beyond 2\^53/);
    expect(await parts.store.getJob(job.id)).toBeUndefined();
  });
});

describe('concurrent writers', () => {
  let env: TestEnvironment;
  beforeEach(async () => {
    env = await createTestEnvironment();
  });
  afterEach(async () => env.cleanup());

  it('20 parallel submits and cancels from three processes make one gap-free chain per shard', async () => {
    // Three stores, each with its own audit log (its own head cache and queue), as three processes
    // would have; two shards so that they really contend for the heads.
    const stores = [0, 1, 2].map(
      () =>
        new DynamoDbJobStore({
          client: env.documentClient,
          tableName: tableName(env.prefix, JOBS_TABLE),
          audit: new DynamoDbAuditLog({ client: env.documentClient, tableName: tableName(env.prefix, AUDIT_TABLE), shards: 2 }),
        }),
    );
    const jobs = Array.from({ length: 20 }, (_, i) => makeJob({ owner: `user-${i}` }));
    await Promise.all(jobs.map((job, i) => stores[i % 3]!.createJob(job)));
    await Promise.all(jobs.map((job, i) => stores[(i + 1) % 3]!.requestCancel(job.id, `user-${i}`, now)));

    const audit = stores[0]!.audit;
    const result = await audit.verify();
    expect(result).toMatchObject({ ok: true, entries: 40, shards: 2 });
    const { shards } = await audit.readAllChains();
    for (const { items } of shards) {
      const seqs = items.map((i) => i.seq as number);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
      expect(items[0]).toMatchObject({ headSeq: seqs.length - 1 });
    }
    for (const [i, job] of jobs.entries()) {
      expect((await stores[0]!.getJob(job.id))?.state).toBe('CANCELLED');
      const mine = (await allEntries(audit)).filter((e) => e.target === `job:${job.id}`);
      expect(mine.map((e) => [e.actor, e.action])).toEqual([
        [`user-${i}`, 'job.submit'],
        [`user-${i}`, 'job.cancel'],
      ]);
    }
  });

  it('runWithEntry re-runs a foreign transaction on a fresh head when another writer appended first', async () => {
    const auditTable = tableName(env.prefix, AUDIT_TABLE);
    const jobsTable = tableName(env.prefix, JOBS_TABLE);
    const mine = new DynamoDbAuditLog({ client: env.documentClient, tableName: auditTable, shards: 1 });
    const theirs = new DynamoDbAuditLog({ client: env.documentClient, tableName: auditTable, shards: 1 });
    await mine.append({ actor: 'a', action: 'test.warm', target: 't:0', details: {} });
    // Another process appends: `mine` still believes in the old head.
    await theirs.append({ actor: 'b', action: 'test.other', target: 't:1', details: {} });
    let calls = 0;
    const { TransactWriteCommand } = await import('@aws-sdk/lib-dynamodb');
    await mine.runWithEntry(
      { actor: 'admin', action: 'apikey.create', target: 'apikey:k1', details: { role: 'viewer' } },
      async (actions) => {
        calls++;
        await env.documentClient.send(
          new TransactWriteCommand({
            TransactItems: [{ Put: { TableName: jobsTable, Item: { pk: 'APIKEY#k1' }, ConditionExpression: 'attribute_not_exists(pk)' } }, ...actions],
          }),
        );
      },
      (err) => err instanceof Error && err.name === 'TransactionCanceledException',
    );
    expect(calls).toBe(2);
    const entries = await allEntries(mine);
    expect(entries.map((e) => [e.seq, e.action])).toEqual([
      [1, 'test.warm'],
      [2, 'test.other'],
      [3, 'apikey.create'],
    ]);
    expect((await mine.verify()).ok).toBe(true);
  });

  it("commits one process's concurrent changes together, refusing only those whose condition fails", async () => {
    const jobsTable = tableName(env.prefix, JOBS_TABLE);
    const client = createDocumentClient({ endpoint: env.dynamoEndpoint });
    let transactions = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName?.startsWith('TransactWrite')) transactions++;
        return next(args);
      },
      { step: 'initialize', name: 'count-transactions' },
    );
    const audit = new DynamoDbAuditLog({ client, tableName: tableName(env.prefix, AUDIT_TABLE), shards: 4 });
    for (let i = 0; i < 10; i++) {
      await env.documentClient.send(new PutCommand({ TableName: jobsTable, Item: { pk: `X${i}`, state: i === 5 ? 'DONE' : 'QUEUED' } }));
    }
    const claim = (pk: string) =>
      audit.transact({
        items: [
          {
            Update: {
              TableName: jobsTable,
              Key: { pk },
              UpdateExpression: 'SET #s = :s',
              ConditionExpression: '#s = :q',
              ExpressionAttributeNames: { '#s': 'state' },
              ExpressionAttributeValues: { ':s': 'RUNNING', ':q': 'QUEUED' },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
        ],
        record: { actor: 'w', action: 'job.claim', target: `job:${pk}`, details: {} },
      });
    // X0 twice: one transaction may touch an item once, so the second waits for the next one
    // and then finds X0 RUNNING.
    const results = await Promise.allSettled([...Array.from({ length: 10 }, (_, i) => claim(`X${i}`)), claim('X0')]);
    const refused = results.flatMap((r, i) => (r.status === 'rejected' ? [[i, r.reason]] : []));
    expect(refused.map(([i]) => i)).toEqual([5, 10]);
    for (const [, reason] of refused) expect(reason).toBeInstanceOf(TransactionRefusedError);
    expect((refused[0]![1] as TransactionRefusedError).failed).toEqual([{ index: 0, item: { pk: 'X5', state: 'DONE' } }]);
    expect((refused[1]![1] as TransactionRefusedError).failed).toEqual([{ index: 0, item: { pk: 'X0', state: 'RUNNING' } }]);
    const seqs = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.seq] : []));
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Grouped: far fewer transactions than changes (the first alone, then the rest together).
    expect(transactions).toBeLessThanOrEqual(5);
    expect(await audit.verify()).toMatchObject({ ok: true, entries: 9 });
  });

  it('reports a refused business condition with the item it found', async () => {
    const jobsTable = tableName(env.prefix, JOBS_TABLE);
    const audit = new DynamoDbAuditLog({ client: env.documentClient, tableName: tableName(env.prefix, AUDIT_TABLE) });
    await env.documentClient.send(new PutCommand({ TableName: jobsTable, Item: { pk: 'X', state: 'DONE' } }));
    const attempt = audit.transact({
      items: [
        {
          Update: {
            TableName: jobsTable,
            Key: { pk: 'X' },
            UpdateExpression: 'SET #s = :s',
            ConditionExpression: '#s = :q',
            ExpressionAttributeNames: { '#s': 'state' },
            ExpressionAttributeValues: { ':s': 'RUNNING', ':q': 'QUEUED' },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
      ],
      record: { actor: 'a', action: 'job.claim', target: 'job:X', details: {} },
    });
    await expect(attempt).rejects.toBeInstanceOf(TransactionRefusedError);
    await expect(attempt).rejects.toMatchObject({ failed: [{ index: 0, item: { pk: 'X', state: 'DONE' } }] });
    expect((await audit.verify()).entries).toBe(0);
  });
});

describe('paging and checkpoints', () => {
  let env: TestEnvironment;
  /** Four processes' logs, each on its own shard of four (the random pick is fixed). */
  let logs: DynamoDbAuditLog[];
  beforeEach(async () => {
    env = await createTestEnvironment();
    let tick = 0;
    const clock = () => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++));
    logs = [0, 1, 2, 3].map(
      (shard) =>
        new DynamoDbAuditLog({
          client: env.documentClient,
          tableName: tableName(env.prefix, AUDIT_TABLE),
          shards: 4,
          clock,
          random: () => shard / 4,
        }),
    );
  });
  afterEach(async () => env.cleanup());

  it('pages through every entry exactly once, merged by time across shards, each shard in order', async () => {
    for (let i = 0; i < 23; i++) await logs[i % 4]!.append({ actor: 'a', action: 'test.append', target: `t:${i}`, details: { i } });
    const audit = logs[0]!;
    const seen = await allEntries(audit);
    expect(seen.map((e) => e.details.i)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    expect(seen.map((e) => e.shard)).toEqual(Array.from({ length: 23 }, (_, i) => i % 4));
    // The cursor keeps working afterwards: a later poll returns only what was appended since.
    const page = await audit.list({ limit: 100 });
    await logs[3]!.append({ actor: 'a', action: 'test.append', target: 't:late', details: { i: 23 } });
    const later = await audit.list({ limit: 100, after: page.next });
    expect(later.entries.map((e) => [e.shard, e.details.i])).toEqual([[3, 23]]);
    expect((await audit.list({ limit: 10, shard: 2 })).entries.map((e) => e.details.i)).toEqual([2, 6, 10, 14, 18, 22]);
    expect((await audit.list({ limit: 10, shard: 'root' })).entries).toEqual([]);
    await expect(audit.list({ limit: 10, after: 'not-a-cursor!' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('checkpoints the non-empty shards into the root chain, and only when a shard moved', async () => {
    const audit = logs[0]!;
    expect(await audit.checkpoint()).toBeNull();
    for (let i = 0; i < 6; i++) await logs[i % 2 === 0 ? 0 : 2]!.append({ actor: 'a', action: 'test.append', target: `t:${i}`, details: {} });
    const first = await audit.checkpoint();
    expect(first).toMatchObject({ seq: 1, action: 'audit.checkpoint', actor: 'system:checkpoint' });
    expect((first!.details.shards as { shard: number; seq: number }[]).map((s) => [s.shard, s.seq])).toEqual([
      [0, 3],
      [2, 3],
    ]);
    expect(await audit.checkpoint()).toBeNull();
    await logs[1]!.append({ actor: 'a', action: 'test.append', target: 't:6', details: {} });
    expect(await audit.checkpoint()).toMatchObject({ seq: 2 });
    expect(await audit.verify()).toMatchObject({ ok: true, entries: 7, checkpoints: 2, shards: 4 });
  });
});
