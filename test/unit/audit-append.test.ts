/**
 * How DynamoDbAuditLog reads a failed transaction, with the SDK mocked: which failures move to
 * another shard, which wait and retry, which refuse the change, and which are never re-sent.
 */
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbAuditLog, TransactionRefusedError } from '../../core/audit/dynamodb-audit-log.ts';
import { DependencyError } from '../../core/errors.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const record = { actor: 'w', action: 'job.claim', target: 'job:1', details: {} };
const update = {
  Update: {
    TableName: 'jobs',
    Key: { pk: 'JOB#1' },
    UpdateExpression: 'SET #s = :r',
    ConditionExpression: '#s = :q',
    ExpressionAttributeNames: { '#s': 'state' },
    ExpressionAttributeValues: { ':r': 'RUNNING', ':q': 'QUEUED' },
  },
};

function cancelled(...codes: (string | { Code: string; Item: Record<string, unknown> })[]) {
  return new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((c) => (typeof c === 'string' ? { Code: c } : c)) as ConstructorParameters<
      typeof TransactionCanceledException
    >[0]['CancellationReasons'],
  });
}

/** The shard a TransactWrite call appended to (its head Put's pk). */
function shardOfCall(i: number): string {
  const items = (ddb.commandCalls(TransactWriteCommand)[i]!.args[0].input.TransactItems ?? []) as { Put?: { Item?: Record<string, unknown> } }[];
  return items.at(-1)!.Put!.Item!.pk as string;
}

describe('DynamoDbAuditLog append failures', () => {
  let sleeps: number[];
  let randoms: number[];
  const log = (maxAttempts = 12) =>
    new DynamoDbAuditLog({
      client,
      tableName: 'audit',
      shards: 4,
      maxAttempts,
      random: () => randoms.shift() ?? 0,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });

  beforeEach(() => {
    ddb.reset();
    sleeps = [];
    randoms = [];
    ddb.on(GetCommand).resolves({});
  });

  it('moves to another shard at once when another writer moved the head', async () => {
    // First pick: shard 0 (random 0). After losing it: the 3 others, random 0.5 → shard 2.
    randoms = [0, 0.5];
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled('None', 'None', { Code: 'ConditionalCheckFailed', Item: { headSeq: { N: '3' }, headHash: { S: 'h' } } }))
      .resolves({});
    const entry = await log().transact({ items: [update], record });
    expect(entry.seq).toBe(1);
    expect([shardOfCall(0), shardOfCall(1)]).toEqual(['SHARD#0', 'SHARD#2']);
    expect(sleeps).toEqual([0]);
    // The new shard's head was read before writing to it.
    expect(ddb.commandCalls(GetCommand).map((c) => c.args[0].input.Key)).toEqual([
      { pk: 'SHARD#0', seq: 0 },
      { pk: 'SHARD#2', seq: 0 },
    ]);
  });

  it('waits and retries in place on a transaction conflict', async () => {
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled('TransactionConflict', 'None', 'None')).resolves({});
    await log().transact({ items: [update], record });
    expect([shardOfCall(0), shardOfCall(1)]).toEqual(['SHARD#0', 'SHARD#0']);
    expect(sleeps).toHaveLength(1);
  });

  it('refuses the change when its own condition failed, even if the head moved too', async () => {
    ddb.on(TransactWriteCommand).rejects(
      cancelled({ Code: 'ConditionalCheckFailed', Item: { state: { S: 'CANCELLED' } } }, 'None', { Code: 'ConditionalCheckFailed', Item: {} }),
    );
    const attempt = log().transact({ items: [update], record });
    await expect(attempt).rejects.toBeInstanceOf(TransactionRefusedError);
    await expect(attempt).rejects.toMatchObject({ failed: [{ index: 0, item: { state: 'CANCELLED' } }] });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  it('gives up with a DependencyError after maxAttempts lost shards', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'None', 'ConditionalCheckFailed'));
    await expect(log(3).transact({ items: [update], record })).rejects.toBeInstanceOf(DependencyError);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(3);
  });

  it('never re-sends a batch whose outcome is unknown (a timeout)', async () => {
    const timeout = Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    ddb.on(TransactWriteCommand).rejects(timeout);
    const audit = log();
    const results = await Promise.allSettled([
      audit.append(record),
      audit.append({ ...record, target: 'job:2' }),
      audit.append({ ...record, target: 'job:3' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const r of results) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(DependencyError);
    // The first alone, the two that queued behind it together: two calls, none repeated.
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });

  it('splits a batch DynamoDB rejected as invalid and answers each change alone', async () => {
    const invalid = Object.assign(new Error('Transaction request cannot include multiple operations on one item'), { name: 'ValidationException' });
    const audit = log();
    ddb.on(TransactWriteCommand).resolvesOnce({}).rejectsOnce(invalid).resolves({});
    const results = await Promise.all([audit.append(record), audit.append({ ...record, target: 'job:2' }), audit.append({ ...record, target: 'job:3' })]);
    expect(results.map((e) => e.seq)).toEqual([1, 2, 3]);
    const sizes = ddb.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems?.length);
    expect(sizes).toEqual([2, 3, 2, 2]);
  });

  it('runWithEntry passes other errors through and moves shard on a head conflict', async () => {
    randoms = [0, 0];
    const audit = log();
    await expect(audit.runWithEntry(record, async () => Promise.reject(new Error('boom')), () => false)).rejects.toThrow('boom');
    const shards: string[] = [];
    const result = await audit.runWithEntry(
      record,
      async (actions) => {
        shards.push(actions[1]!.Put!.Item!.pk as string);
        if (shards.length === 1) throw new Error('conflict');
        return 'done';
      },
      (err) => err instanceof Error && err.message === 'conflict',
    );
    expect(result).toBe('done');
    expect(shards).toEqual(['SHARD#0', 'SHARD#1']);
  });

  it('refuses records that could not be verified later, before any call', async () => {
    const audit = log();
    await expect(audit.append({ ...record, details: { n: Number.NaN } })).rejects.toThrow(/not canonical JSON/);
    await expect(audit.append({ ...record, details: { blob: 'x'.repeat(17 * 1024) } })).rejects.toThrow(/at most/);
    await expect(audit.append({ ...record, actor: '' })).rejects.toThrow(/actor/);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });
});
