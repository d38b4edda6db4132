import { CreateQueueCommand, DeleteMessageBatchCommand, DeleteQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApiDependencies } from '../../core/app/api-dependencies.ts';
import { dispatchDependencies } from '../../core/app/dispatch-dependencies.ts';
import { createWorkerDependencies } from '../../core/app/worker-dependencies.ts';
import { bootstrapAdminKey } from '../../core/auth/bootstrap-admin-key.ts';
import { DynamoDbApiKeyStore } from '../../core/auth/dynamodb-api-key-store.ts';
import { runtimeConfigToEnv, type RuntimeConfig } from '../../core/config.ts';
import { DynamoDbJobStore } from '../../core/jobs/dynamodb-store.ts';
import { isTerminal, type Job } from '../../core/jobs/job.ts';
import { DynamoDbPassLease } from '../../core/scheduling/dynamodb-pass-lease.ts';
import { DynamoDbPoolScalingBoard } from '../../core/scaling/dynamodb-pool-scaling.ts';
import { Worker } from '../../core/worker/worker.ts';
import { DynamoDbWorkerRegistry } from '../../core/workers/dynamodb-registry.ts';
import type { WorkerRecord } from '../../core/workers/registry.ts';
import { createHandlers } from '../../lambdas/handlers.ts';
import { ROUTES } from '../../lambdas/routes.ts';
import { handler as scheduleJobs } from '../../lambdas/schedule-jobs.ts';
import { startLocalApiServer, type LocalApiServer } from '../../local/http-server.ts';
import { createTestEnvironment, runtimeConfigFor, type TestEnvironment } from '../support/emulators.ts';
import { fakeGpus } from '../support/fake-gpus.ts';
import { makeJob } from '../support/jobs.ts';
import { FAST_WORKER_OPTIONS, waitForJob } from '../support/platform-parts.ts';

/**
 * The AWS scheduling path on the real emulators: the API's submit wired as deployed
 * (dispatchDependencies with RUNPLANE_SCHEDULER_QUEUE_URL) sends a kick, not the job's message;
 * the scheduler Lambda's handler, invoked with the kick queue's messages as its SQS event source
 * would (or with the schedule's event), admits what the worker registry says fits and sends only
 * that; what cannot fit stays QUEUED, with its waiting code and no message to spend receives on.
 */
describe('the scheduler Lambda against DynamoDB Local and fauxqs', () => {
  let env: TestEnvironment;
  let config: RuntimeConfig;
  let kickQueueUrl: string;
  let server: LocalApiServer;
  let adminKey: string;
  let store: DynamoDbJobStore;
  let registry: DynamoDbWorkerRegistry;
  const workers: Worker[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment();
    kickQueueUrl = (await env.sqs.send(new CreateQueueCommand({ QueueName: `${env.prefix}-scheduler-kicks` }))).QueueUrl!;
    config = runtimeConfigFor(env, { schedulerQueueUrl: kickQueueUrl });
    // The Lambda reads its configuration from the environment, as the stack sets it.
    for (const [name, value] of Object.entries(runtimeConfigToEnv(config))) vi.stubEnv(name, value);
    store = new DynamoDbJobStore({ client: env.documentClient, tableName: config.tables.jobs, audit: { tableName: config.tables.audit } });
    registry = new DynamoDbWorkerRegistry({ client: env.documentClient, tableName: config.tables.jobs });
    const deps = createApiDependencies(config, { ...dispatchDependencies(config), log: () => undefined });
    server = await startLocalApiServer({ routes: ROUTES, handlers: createHandlers(async () => deps), log: () => undefined });
    let stored: string | undefined;
    await bootstrapAdminKey({
      store: new DynamoDbApiKeyStore({ client: env.documentClient, tableName: config.tables.jobs }),
      secret: { read: async () => stored, write: async (v) => void (stored = v) },
    });
    adminKey = stored!;
  }, 60_000);
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ drainSeconds: 0 })));
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await server?.close();
    await env?.sqs.send(new DeleteQueueCommand({ QueueUrl: kickQueueUrl })).catch(() => undefined);
    await env?.cleanup();
  });

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const submit = async (body: Record<string, unknown>): Promise<string> => {
    const res = await api('POST', '/v1/jobs', { command: ['true'], ...body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.state).toBe('QUEUED');
    return res.body.id as string;
  };
  const receiveAll = async (url: string): Promise<{ body: string; messageId: string; receiptHandle: string }[]> => {
    const out = await env.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 30 }));
    return (out.Messages ?? []).map((m) => ({ body: m.Body!, messageId: m.MessageId!, receiptHandle: m.ReceiptHandle! }));
  };
  const deleteAll = async (url: string, messages: readonly { messageId: string; receiptHandle: string }[]) => {
    if (messages.length > 0) {
      await env.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.receiptHandle })) }));
    }
  };
  /** What the SQS event source does: a batch of kicks to the handler, then deletes all but the failures. */
  const deliverKicks = async (): Promise<string[]> => {
    const kicks = await receiveAll(kickQueueUrl);
    const event: SQSEvent = {
      Records: kicks.map((k) => ({ messageId: k.messageId, receiptHandle: k.receiptHandle, body: k.body, attributes: { ApproximateReceiveCount: '1' } }) as unknown as SQSRecord),
    };
    const result = await scheduleJobs(event, { getRemainingTimeInMillis: () => 60_000 });
    const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
    await deleteAll(kickQueueUrl, kicks.filter((k) => !failed.has(k.messageId)));
    return kicks.map((k) => k.body);
  };
  const jobMessages = async (): Promise<string[]> => {
    const messages = await receiveAll(env.queues[0]!.url);
    await deleteAll(env.queues[0]!.url, messages);
    return messages.map((m) => (JSON.parse(m.body) as { jobId: string }).jobId);
  };
  /** The next test starts on an empty pool: these jobs' admissions (whose messages were taken) would hold its capacity. */
  const cleanUp = async (jobIds: readonly string[], workerIds: readonly string[]) => {
    for (const id of jobIds) expect((await api('POST', `/v1/jobs/${id}/cancel`)).status).toBe(200);
    for (const id of workerIds) await registry.remove(id);
    await deliverKicks();
    await jobMessages();
  };
  const fakeWorker = async (workerId: string, gpus: number, concurrency: number) => {
    const now = new Date().toISOString();
    const record: WorkerRecord = {
      workerId,
      pool: 'default',
      hostname: 'test',
      pid: 1,
      concurrency,
      gpus: await fakeGpus(gpus),
      runningJobs: [],
      startedAt: now,
      lastSeenAt: now,
      draining: false,
    };
    await registry.report(record);
  };

  it('admits what the registry says fits and sends only that; a job that cannot fit stays QUEUED with its waiting code and no message', async () => {
    await fakeWorker('one-gpu', 1, 1);
    const fits = await submit({ resources: { gpus: 1 } });
    // The submit sent a kick, not the job's message: nothing is on the work queue yet.
    expect(await jobMessages()).toEqual([]);
    expect(await deliverKicks()).toEqual([JSON.stringify({ pool: 'default' })]);
    expect(await jobMessages()).toEqual([fits]);
    expect((await store.getJob(fits))?.admittedAt).not.toBeNull();

    // Two GPUs on a pool whose largest worker has one, and one GPU while the only GPU is promised.
    const tooBig = await submit({ resources: { gpus: 2 } });
    const behind = await submit({ resources: { gpus: 1 } });
    expect((await deliverKicks()).length).toBeGreaterThanOrEqual(1);
    expect(await jobMessages()).toEqual([]);
    for (const id of [tooBig, behind]) expect(await store.getJob(id)).toMatchObject({ state: 'QUEUED', admittedAt: null, attempt: 0 });
    const big = await api('GET', `/v1/jobs/${tooBig}`);
    expect(big.body.waiting).toMatchObject({ code: 'NoCapacity' });
    const second = await api('GET', `/v1/jobs/${behind}`);
    expect(second.body.waiting).toMatchObject({ code: 'Resources', position: 1 });

    // A second one-GPU worker joins (a real worker kicks when it joins): the waiting one-GPU job goes.
    await fakeWorker('another-gpu', 1, 1);
    const alsoTooBig = await submit({ resources: { gpus: 2 } }); // any kick will do; this one cannot fit either
    await deliverKicks();
    expect(await jobMessages()).toEqual([behind]);
    expect((await store.getJob(tooBig))?.admittedAt).toBeNull();
    await cleanUp([fits, tooBig, behind, alsoTooBig], ['one-gpu', 'another-gpu']);
  }, 60_000);

  it('the schedule\'s run admits a pending job that no kick announced (a lost kick is never a stranded job)', async () => {
    await fakeWorker('cpu-box', 0, 2);
    // Stored pending with no kick at all, as after a kick that failed to send.
    const job: Job = makeJob({ queue: 'default' });
    await store.createJob(job);
    await expect(scheduleJobs({ source: 'aws.events', 'detail-type': 'Scheduled Event' })).resolves.toEqual({ batchItemFailures: [] });
    expect(await jobMessages()).toEqual([job.id]);
    await cleanUp([job.id], ['cpu-box']);
  }, 60_000);

  it('a real worker with the AWS wiring runs what the scheduler admits, and its attempt\'s end kicks the next job in', async () => {
    // The worker gets the scheduler kick from its dependencies, exactly as the ECS task does.
    const deps = createWorkerDependencies(config);
    expect(deps.scheduler).toBeDefined();
    const worker = new Worker({ ...deps, ...FAST_WORKER_OPTIONS, concurrency: 1, gpus: await fakeGpus(1), reportIntervalSeconds: 0.3, log: () => undefined });
    worker.start();
    workers.push(worker);
    // The event source mapping: every kick is delivered to the handler. There is no scheduled run
    // here, so the second job can only start through the first one's end kick.
    let pumping = true;
    const pump = (async () => {
      while (pumping) await deliverKicks();
    })();
    try {
      const first = await submit({ command: ['node', '-e', 'setTimeout(() => {}, 300)'], resources: { gpus: 1 } });
      const next = await submit({ command: ['node', '-e', 'console.log(process.env.CUDA_VISIBLE_DEVICES)'], resources: { gpus: 1 } });
      const done = await Promise.all([first, next].map((id) => waitForJob(store, id, (j) => isTerminal(j.state), 60_000)));
      expect(done.map((j) => [j.state, j.attempt])).toEqual([
        ['SUCCEEDED', 1],
        ['SUCCEEDED', 1],
      ]);
      expect(done[1]!.startedAt! >= done[0]!.finishedAt!).toBe(true);
    } finally {
      pumping = false;
      await pump;
    }
  }, 90_000);

  it('with no live worker, a waiting job says whether its pool is scaled to zero or scaling out (the scaler\'s last decision)', async () => {
    const id = await submit({});
    await deliverKicks();
    expect(await jobMessages()).toEqual([]);
    const scaling = new DynamoDbPoolScalingBoard({ client: env.documentClient, tableName: config.tables.jobs });
    const waiting = async () => (await api('GET', `/v1/jobs/${id}`)).body.waiting as { code: string; message: string };
    // Before the scaler has said anything: the generic reason.
    expect(await waiting()).toMatchObject({ code: 'NoCapacity', message: expect.stringMatching(/pool scaled to zero or scaling out/) });
    await scaling.write({ pool: 'default', desiredTasks: 2, runningTasks: 0, at: new Date().toISOString() });
    expect(await waiting()).toMatchObject({ code: 'NoCapacity', message: expect.stringMatching(/scaling out: 0 of 2 worker task\(s\) running/) });
    await scaling.write({ pool: 'default', desiredTasks: 0, runningTasks: 0, at: new Date().toISOString() });
    expect(await waiting()).toMatchObject({ code: 'NoCapacity', message: expect.stringMatching(/is scaled to zero/) });
    // A stale decision (the scaler stopped running) says nothing.
    await scaling.write({ pool: 'default', desiredTasks: 2, runningTasks: 0, at: new Date(Date.now() - 10 * 60_000).toISOString() });
    expect((await waiting()).message).toMatch(/pool scaled to zero or scaling out/);
    await cleanUp([id], []);
  }, 60_000);

  it('one pool\'s passes never overlap: a kick during a pass makes its holder run one more, and an expired lease is taken over', async () => {
    const lease = new DynamoDbPassLease({ client: env.documentClient, tableName: config.tables.jobs });
    const t0 = new Date();
    expect(await lease.acquire('lease-pool', 'a', t0, 30_000)).toBe(true);
    // b arrives while a runs its pass: b leaves a mark instead of running one alongside.
    expect(await lease.acquire('lease-pool', 'b', t0, 30_000)).toBe(false);
    expect(await lease.release('lease-pool', 'a', t0, 30_000)).toBe('again');
    expect(await lease.release('lease-pool', 'a', t0, 30_000)).toBe('released');
    expect(await lease.acquire('lease-pool', 'b', t0, 30_000)).toBe(true);
    // b dies holding it; after the lease's expiry c takes it, and b's late release says it lost it.
    expect(await lease.acquire('lease-pool', 'c', new Date(t0.getTime() + 10_000), 30_000)).toBe(false);
    expect(await lease.acquire('lease-pool', 'c', new Date(t0.getTime() + 31_000), 30_000)).toBe(true);
    expect(await lease.release('lease-pool', 'b', new Date(t0.getTime() + 32_000), 30_000)).toBe('lost');
    await lease.abandon('lease-pool', 'c');
    expect(await lease.acquire('lease-pool', 'd', new Date(t0.getTime() + 33_000), 30_000)).toBe(true);
  });
});
