import { createHash, randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CALLER } from '../../core/auth/caller.ts';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { meterS3, type MeteredCall } from '../../core/aws/request-meter.ts';
import { createS3Client } from '../../core/aws/s3-client.ts';
import { DynamoDbEventStore } from '../../core/events/dynamodb-event-store.ts';
import { outputEventBytes, type JobEvent } from '../../core/events/event.ts';
import { eventPartitionKey } from '../../core/events/item-size.ts';
import { S3LogArchiveStore } from '../../core/events/s3-log-archive-store.ts';
import { isTerminal } from '../../core/jobs/job.ts';
import { JobService } from '../../core/jobs/job-service.ts';
import { EVENTS_TABLE, tableName } from '../../core/resources.ts';
import { Worker } from '../../core/worker/worker.ts';
import { ensureBucket } from '../../local/bootstrap.ts';
import { createTestEnvironment, type TestEnvironment } from '../support/emulators.ts';
import { FAST_WORKER_OPTIONS, platformParts, waitForJob } from '../support/platform-parts.ts';

/**
 * Log archive end to end: a real worker archives each attempt to S3 (fauxqs) before it writes the
 * final state, and the API keeps serving the same events and bytes once DynamoDB has dropped them.
 */
describe('log archive', () => {
  let env: TestEnvironment;
  let parts: ReturnType<typeof platformParts>;
  let service: JobService;
  let worker: Worker;
  let archive: S3LogArchiveStore;
  let eventsTable: string;
  let s3: S3Client;
  let bucket: string;
  /** The S3 requests the service and the worker made, in order. */
  const s3Calls: MeteredCall[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment();
    parts = platformParts(env);
    s3 = createS3Client({ endpoint: env.sqsEndpoint });
    meterS3(s3, { record: (call) => s3Calls.push(call) });
    bucket = `t-${randomUUID().slice(0, 8)}`;
    await ensureBucket(s3, bucket);
    archive = new S3LogArchiveStore({ client: s3, bucket });
    eventsTable = tableName(env.prefix, EVENTS_TABLE);
    const events = new DynamoDbEventStore({ client: env.documentClient, tableName: eventsTable, retentionDays: 30 });
    service = new JobService({ store: parts.store, events, queue: parts.queue, queues: parts.queues, logArchive: archive });
    worker = new Worker({ ...parts, ...FAST_WORKER_OPTIONS, events, logArchive: archive });
    worker.start();
  });
  afterAll(async () => {
    await worker.stop({ drainSeconds: 0 });
    await env.cleanup();
  });

  /** What DynamoDB's TTL would do, all at once. */
  async function deleteEvents(jobId: string, attempt: number) {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await env.documentClient.send(
        new QueryCommand({
          TableName: eventsTable,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': eventPartitionKey(jobId, attempt) },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    for (let i = 0; i < items.length; i += 25) {
      await env.documentClient.send(
        new BatchWriteCommand({ RequestItems: { [eventsTable]: items.slice(i, i + 25).map((it) => ({ DeleteRequest: { Key: { pk: it.pk, seq: it.seq } } })) } }),
      );
    }
    return items;
  }

  async function allEvents(jobId: string, limit: number): Promise<JobEvent[]> {
    const events: JobEvent[] = [];
    let after = 0;
    for (;;) {
      const page = await service.listEvents(jobId, { after: String(after), limit: String(limit) }, LOCAL_CALLER);
      events.push(...page.events);
      after = page.next;
      if (!page.hasMore) return events;
    }
  }

  it('archives an attempt before its final state and serves the same events and bytes after the events are gone', async () => {
    // ~3 MiB of lines (several gzip members), bytes that are not UTF-8, a partial last line, then exit 1.
    const script = [
      "const line = (i) => `line ${i} ${'y'.repeat(100)}\\n`;",
      'for (let i = 0; i < 30000; i++) process.stdout.write(line(i));',
      'process.stdout.write(Buffer.from([0xff, 0xfe, 0x00, 0x80]));',
      "process.stderr.write('a line on stderr\\n');",
      "process.stdout.write('tail without newline');",
      'process.exit(1);',
    ].join('\n');
    const { job } = await service.submit({ command: ['node', '-e', script], maxAttempts: 1 }, LOCAL_CALLER);
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 120_000);
    expect(done.state).toBe('FAILED');
    const record = done.attempts[0]?.logArchive;
    expect(record).toBeDefined();
    // An index of thousands of events does not fit in metadata: it is its own object.
    expect(record!.indexKey).toBe(`logs/${job.id}/1/index.json`);

    const beforeEvents = await allEvents(job.id, 7);
    const beforeBytes = (await service.logs(job.id, {}, LOCAL_CALLER)).bytes;
    const midPage = await service.listEvents(job.id, { after: '5', limit: '3' }, LOCAL_CALLER);
    expect(beforeBytes.length).toBeGreaterThan(3_000_000);
    expect(record).toMatchObject({ bytes: beforeBytes.length, lastSeq: beforeEvents.at(-1)!.seq });
    expect(record!.sha256).toBe(createHash('sha256').update(beforeBytes).digest('hex'));
    expect(beforeBytes.toString('latin1')).toContain('a line on stderr\n');
    const stdout = Buffer.concat(beforeEvents.flatMap((e) => (e.kind === 'output' && e.stream === 'stdout' ? [outputEventBytes(e)] : [])));
    expect(stdout.subarray(-4 - 'tail without newline'.length)).toEqual(Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x80]), Buffer.from('tail without newline')]));

    // Every event carries the TTL attribute, 30 days after its own time.
    const items = await deleteEvents(job.id, 1);
    expect(items.length).toBe(beforeEvents.length);
    for (const item of items) expect(item.expiresAt).toBe(Math.floor(Date.parse(String(item.ts)) / 1000) + 30 * 86_400);
    expect((await parts.events.list({ jobId: job.id, attempt: 1, limit: 10 })).events).toEqual([]);

    expect(await allEvents(job.id, 7)).toEqual(beforeEvents);
    expect(await allEvents(job.id, 1000)).toEqual(beforeEvents);
    expect(await service.listEvents(job.id, { after: '5', limit: '3' }, LOCAL_CALLER)).toEqual(midPage);
    expect((await service.logs(job.id, {}, LOCAL_CALLER)).bytes.equals(beforeBytes)).toBe(true);

    // ?download=1: a presigned GET of the gzip archive, exactly the output.
    const url = await service.logsDownloadUrl(job.id, { download: '1' }, LOCAL_CALLER);
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('900');
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(gunzipSync(Buffer.from(await response.arrayBuffer())).equals(beforeBytes)).toBe(true);
  });

  it('archives every attempt of a retried job on its own attempt record', async () => {
    const { job } = await service.submit(
      { command: ['sh', '-c', 'echo "attempt $RUNPLANE_ATTEMPT"; [ "$RUNPLANE_ATTEMPT" = 2 ]'], maxAttempts: 2, retryDelaySeconds: 0 },
      LOCAL_CALLER,
    );
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 60_000);
    expect(done.state).toBe('SUCCEEDED');
    expect(done.attempts.map((a) => a.logArchive?.key)).toEqual([`logs/${job.id}/1/output.gz`, `logs/${job.id}/2/output.gz`]);
    // A small archive is one object: its index rides in the output's metadata, no index.json.
    expect(done.attempts.map((a) => a.logArchive?.indexKey)).toEqual([`logs/${job.id}/1/output.gz`, `logs/${job.id}/2/output.gz`]);
    await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `logs/${job.id}/1/index.json` }))).rejects.toMatchObject({ name: 'NotFound' });
    // The index read alone (a larger archive's path: HEAD, then ranged GETs) is the one the whole read carries.
    const record = done.attempts[1]!.logArchive!;
    const whole = await archive.getWhole(record.key);
    expect(await archive.getIndex(record)).toEqual(whole.index);
    expect(whole.index).toMatchObject({ jobId: job.id, attempt: 2, bytes: 'attempt 2\n'.length });
    expect(gunzipSync(whole.bytes).toString()).toBe('attempt 2\n');
    for (const attempt of [1, 2]) await deleteEvents(job.id, attempt);
    for (const attempt of [1, 2]) {
      const before = s3Calls.length;
      expect((await service.logs(job.id, { attempt: String(attempt) }, LOCAL_CALLER)).bytes.toString()).toBe(`attempt ${attempt}\n`);
      // Index and bytes in one GET.
      expect(s3Calls.slice(before).map((c) => c.operation)).toEqual(['GetObject']);
    }
    const events = await service.listEvents(job.id, { attempt: '2' }, LOCAL_CALLER);
    expect(events.events.filter((e) => e.kind === 'output').map((e) => (e.kind === 'output' ? e.data : ''))).toEqual(['attempt 2\n']);
    const response = await fetch(await service.logsDownloadUrl(job.id, { attempt: '2', download: '1' }, LOCAL_CALLER));
    expect(gunzipSync(Buffer.from(await response.arrayBuffer())).toString()).toBe('attempt 2\n');
  });

  it('refuses a download before the attempt is archived', async () => {
    const { job } = await service.submit({ command: ['sleep', '30'] }, LOCAL_CALLER);
    await expect(service.logsDownloadUrl(job.id, { download: '1' }, LOCAL_CALLER)).rejects.toMatchObject({ code: 'LOG_NOT_ARCHIVED' });
    await service.cancel(job.id, LOCAL_CALLER);
  });
});
