import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../core/aws/dynamodb-client.ts';
import { dynamoDbClientOptions, EMULATOR_CREDENTIALS } from '../../core/aws/client-options.ts';
import { createJobQueue } from '../../core/app/dispatch-dependencies.ts';
import { jobToItem } from '../../core/jobs/dynamodb-store.ts';
import { newJobId } from '../../core/ids.ts';
import { startDynamoDbLocal } from '../../local/dynamodb-local.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';
import { localSecretPaths } from '../../local/local-secrets.ts';
import { readLocalConfig } from '../../local/local-state.ts';
import { makeJob } from '../support/jobs.ts';

/**
 * The local platform's emulators let no one else in: DynamoDB Local runs without -sharedDb under
 * this data directory's own access key, and a job item that no audited submit created (written
 * straight into the table by whoever got in) is never run by the sweeper and the worker.
 */
/** The table key of a job, as the store writes it. */
const jobKey = (id: string) => ({ pk: jobToItem(makeJob({ id })).pk });

describe('local platform emulator isolation', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'runplane-isolation-'));
  const logs: string[] = [];
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  let platform: LocalPlatform;

  const waitForLog = (pattern: RegExp) =>
    new Promise<void>((resolve) => {
      if (logs.some((l) => pattern.test(l))) resolve();
      else waiters.push({ pattern, resolve });
    });

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${platform.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${platform.adminKey}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return (await res.json()) as Record<string, unknown>;
  };

  async function waitForState(id: string, state: string) {
    for (;;) {
      const job = (await api('GET', `/v1/jobs/${id}`)) as { state?: string; job?: { state: string } };
      const current = job.state ?? job.job?.state;
      if (current === state) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  beforeAll(async () => {
    platform = await startLocalPlatform({
      inMemory: true,
      port: 0,
      workers: 1,
      workerPools: ['default'],
      dataDir,
      maintenanceIntervalSeconds: 1,
      sweepOptions: { dispatchGraceSeconds: 0, leaseGraceSeconds: 30 },
      log: (line) => {
        logs.push(line);
        for (const w of waiters.filter((x) => x.pattern.test(line))) w.resolve();
      },
    });
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps its database under an access key of its own: other credentials see no tables', async () => {
    const { config } = platform;
    expect(config.emulatorCredentials?.accessKeyId).toMatch(/^[0-9A-F]{32}$/);
    const foreign = new DynamoDBClient({ region: config.region, endpoint: config.endpoints.dynamodb!, credentials: EMULATOR_CREDENTIALS });
    expect((await foreign.send(new ListTablesCommand({}))).TableNames).toEqual([]);
    const guessed = new DynamoDBClient({
      region: config.region,
      endpoint: config.endpoints.dynamodb!,
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: config.emulatorCredentials!.secretAccessKey },
    });
    expect((await guessed.send(new ListTablesCommand({}))).TableNames).toEqual([]);
    const own = new DynamoDBClient({ ...dynamoDbClientOptions(config), credentials: config.emulatorCredentials! });
    expect((await own.send(new ListTablesCommand({}))).TableNames).toContain(config.tables.jobs);
  });

  it('gives `runplane worker` joining it the key from the 0600 file', async () => {
    const joined = await readLocalConfig(dataDir);
    // (The SDK tags the credentials objects it was given, so compare the key itself.)
    expect(joined.emulatorCredentials?.accessKeyId).toBe(platform.config.emulatorCredentials!.accessKeyId);
    expect(joined.dispatchKey).toBe(platform.config.dispatchKey);
    const own = new DynamoDBClient({ ...dynamoDbClientOptions(joined), credentials: joined.emulatorCredentials! });
    expect((await own.send(new ListTablesCommand({}))).TableNames).toContain(joined.tables.jobs);
  });

  it('records the key only in an owner-only file, never in local.json', async () => {
    const { readFileSync, statSync } = await import('node:fs');
    const paths = localSecretPaths(dataDir);
    expect(statSync(paths.dynamodbAccessKey).mode & 0o777).toBe(0o600);
    expect(statSync(paths.dispatchKey).mode & 0o777).toBe(0o600);
    const state = readFileSync(join(dataDir, 'local.json'), 'utf8');
    expect(state).not.toContain(platform.config.emulatorCredentials!.accessKeyId);
    expect(state).not.toContain(platform.config.dispatchKey!);
  });

  it('never runs a job item written straight into the table, signed or tampered with', async () => {
    const { config } = platform;
    const client = createDocumentClient(dynamoDbClientOptions(config));
    const queue = createJobQueue(config);
    const markers = mkdtempSync(join(tmpdir(), 'runplane-forged-'));

    // 1. A job item no submit created, with its message: the sweeper and the worker both see it.
    const forged = makeJob({ id: newJobId(), command: ['touch', join(markers, 'forged')], createdAt: new Date(Date.now() - 60_000).toISOString() });
    await client.send(new PutCommand({ TableName: config.tables.jobs, Item: jobToItem(forged) }));
    await queue.enqueue('default', { jobId: forged.id });

    // 2. A real submit to a queue with no worker here, then rewritten to run something else on `default`.
    const real = (await api('POST', '/v1/jobs', { command: ['true'], queue: 'gpu' })) as { id: string };
    const stored = (await client.send(new GetCommand({ TableName: config.tables.jobs, Key: jobKey(real.id) }))).Item!;
    expect(typeof stored.dispatchSignature).toBe('string');
    const tampered = { ...stored, command: ['touch', join(markers, 'tampered')], queue: 'default', groupQueueKey: `${stored.group}#default` };
    await client.send(new PutCommand({ TableName: config.tables.jobs, Item: tampered }));
    await queue.enqueue('default', { jobId: real.id });

    await waitForLog(new RegExp(`refusing to run job.*${forged.id}`));
    await waitForLog(new RegExp(`refusing to run job.*${real.id}`));
    // The sweeper sends the never-dispatched forged item again; the worker refuses it again.
    await new Promise((r) => setTimeout(r, 3_000));

    // A genuine submit still runs: the worker is alive and checks signatures, not everything.
    const genuine = (await api('POST', '/v1/jobs', { command: ['true'] })) as { id: string };
    await waitForState(genuine.id, 'SUCCEEDED');
    // Jobs run sandboxed (a private /tmp), so the markers cannot tell; that no attempt was ever
    // claimed for either item does: nothing ran them.
    expect(existsSync(join(markers, 'forged'))).toBe(false);
    expect(existsSync(join(markers, 'tampered'))).toBe(false);
    for (const id of [forged.id, real.id]) {
      const after = (await client.send(new GetCommand({ TableName: config.tables.jobs, Key: jobKey(id) }))).Item!;
      expect(after).toMatchObject({ state: 'QUEUED', attempt: 0 });
    }
    rmSync(markers, { recursive: true, force: true });
  }, 120_000);
});

describe('a data directory from before the per-directory key', () => {
  it('keeps its tables: the shared database becomes the database of the new key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'runplane-upgrade-'));
    try {
      // What an older platform left: DynamoDB Local with -sharedDb on <dataDir>/dynamodb.
      const old = await startDynamoDbLocal({ dbPath: join(dataDir, 'dynamodb'), sharedDb: true });
      const oldClient = new DynamoDBClient({ region: 'us-east-1', endpoint: old.endpoint, credentials: EMULATOR_CREDENTIALS });
      await oldClient.send(
        new CreateTableCommand({
          TableName: 'kept-from-before',
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        }),
      );
      await old.stop();

      const platform = await startLocalPlatform({ port: 0, workers: 0, dataDir, log: () => undefined });
      try {
        const own = new DynamoDBClient({ ...dynamoDbClientOptions(platform.config), credentials: platform.config.emulatorCredentials! });
        expect((await own.send(new ListTablesCommand({}))).TableNames).toContain('kept-from-before');
      } finally {
        await platform.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
