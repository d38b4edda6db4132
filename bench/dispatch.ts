import { randomUUID } from 'node:crypto';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, DeleteMessageCommand } from '@aws-sdk/client-sqs';
import { createApiDependencies } from '../core/app/api-dependencies.ts';
import { createJobQueue } from '../core/app/dispatch-dependencies.ts';
import { createSchedulerKick } from '../core/app/scheduler-kick-dependencies.ts';
import { createHandlers } from '../lambdas/handlers.ts';
import { ROUTES } from '../lambdas/routes.ts';
import { startLocalApiServer } from '../local/http-server.ts';
import { createDocumentClient } from '../core/aws/dynamodb-client.ts';
import { dynamoDbClientOptions } from '../core/aws/client-options.ts';
import { createSqsClient } from '../core/aws/sqs-client.ts';
import { jobToItem } from '../core/jobs/dynamodb-store.ts';
import type { Job } from '../core/jobs/job.ts';
import { newJobId } from '../core/ids.ts';
import { nodeHttpTransport } from '../cli/node-http-transport.ts';
import { startLocalPlatform } from '../local/platform.ts';
import { ratio, summarize } from './stats.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A submit as the CLI sends it: its own transport (node:http with a keep-alive agent), so the
 * measurement is the platform's path and not `fetch`'s (undici costs about a millisecond more
 * per request than node:http on these machines, which the SDK calls of the baseline never pay).
 */
async function post(url: string, token: string, body: unknown, idempotencyKey?: string): Promise<{ id: string }> {
  const res = await nodeHttpTransport(`${url}/v1/jobs`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${text}`);
  return JSON.parse(text) as { id: string };
}

/**
 * Submit latency through the HTTP API (with an idempotency key) against the same 4-action
 * TransactWriteItems (job, idempotency guard, audit entry, chain head) + SQS SendMessage made
 * directly with the SDK, and dispatch latency (submit → child process started) against raw
 * SQS send → long-poll receive on the same fauxqs. Both baselines run in the same process and run.
 *
 * The submit is measured as deployed: the API handlers with the scheduler's kick queue (an SQS
 * queue on the same fauxqs), so a submit is its transaction and one SendMessage, the calls of the
 * baseline, and the pass it asks for runs elsewhere (a Lambda in AWS; nobody here, the pool has no
 * worker). The local platform's own API, whose in-process scheduler runs that pass on the same two
 * cores and the same DynamoDB Local while the next submit is measured, is reported beside it
 * (`viaLocalPlatformMs`, no target): its passes roughly double the emulators' load.
 */
export async function benchSubmitAndDispatch(options: { submits: number; dispatches: number }) {
  const started = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const platform = await startLocalPlatform({
    inMemory: true,
    port: 0,
    workers: 1,
    workerConcurrency: 4,
    workerPools: ['default'],
    dataDir: `/tmp/runplane-bench-${randomUUID().slice(0, 8)}`,
    log: () => undefined,
    workerOptions: {
      pollWaitSeconds: 20,
      onProcessStarted: (job) => {
        started.set(job.id, performance.now());
        waiters.get(job.id)?.();
      },
    },
  });
  try {
    const { config } = platform;
    const ddb = createDocumentClient(dynamoDbClientOptions(config));
    const sqs = createSqsClient({ endpoint: config.endpoints.sqs! });
    // Submits go to `gpu`, which has no local worker here, so running jobs don't load the measurement.
    const benchQueue = config.queues.find((q) => q.pool === 'gpu')!;
    const body = { command: ['true'], queue: 'gpu', labels: { bench: 'submit' } };
    const kickQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `runplane-bench-kicks-${randomUUID().slice(0, 8)}` }))).QueueUrl!;
    const deployed = { ...config, schedulerQueueUrl: kickQueueUrl };
    const deployedDeps = createApiDependencies(deployed, { queue: createJobQueue(deployed), admission: createSchedulerKick(deployed)!, log: () => undefined });
    const deployedApi = await startLocalApiServer({ routes: ROUTES, handlers: createHandlers(async () => deployedDeps), port: 0, log: () => undefined });

    let benchSeq = 0;
    const viaApi: number[] = [];
    const direct: number[] = [];
    const viaLocalPlatform: number[] = [];
    const oneViaApi = async (url = deployedApi.url) => {
      const t = performance.now();
      await post(url, platform.adminKey, body, `bench-${randomUUID()}`);
      return performance.now() - t;
    };
    const oneDirect = async () => {
      const job = benchJob(benchQueue.pool);
      const t = performance.now();
      // Exactly the calls a submit makes: one transaction (the job, its idempotency guard, its audit
      // entry, the chain head, each conditional) and the send.
      benchSeq++;
      await ddb.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: config.tables.jobs, Item: jobToItem(job), ConditionExpression: 'attribute_not_exists(pk)' } },
            {
              Put: {
                TableName: config.tables.jobs,
                Item: { pk: `IDEMPOTENCY#bench:${randomUUID()}`, jobId: job.id, requestHash: 'a'.repeat(64), expiresAt: Math.floor(Date.now() / 1000) + 86_400 },
                ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
                ExpressionAttributeValues: { ':now': Math.floor(Date.now() / 1000) },
              },
            },
            {
              Put: {
                TableName: config.tables.audit,
                Item: benchAuditEntry(benchSeq, job),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: config.tables.audit,
                Item: { pk: 'BENCH', seq: 0, headSeq: benchSeq, headHash: 'f'.repeat(64) },
                ...(benchSeq === 1
                  ? { ConditionExpression: 'attribute_not_exists(pk)' }
                  : { ConditionExpression: 'headSeq = :expected', ExpressionAttributeValues: { ':expected': benchSeq - 1 } }),
              },
            },
          ],
        }),
      );
      await sqs.send(new SendMessageCommand({ QueueUrl: benchQueue.url, MessageBody: JSON.stringify({ jobId: job.id }) }));
      return performance.now() - t;
    };

    // Warm both paths (JIT, connections, the API key cache, the audit head) before measuring.
    for (let i = 0; i < 30; i++) {
      await oneViaApi();
      await oneDirect();
    }
    // Interleaved in pairs, alternating which goes first, so drift in the emulators and in the
    // machine's load (other processes, GC, DynamoDB Local's own pauses) falls on both equally.
    for (let i = 0; i < options.submits; i++) {
      if (i % 2 === 0) {
        viaApi.push(await oneViaApi());
        direct.push(await oneDirect());
      } else {
        direct.push(await oneDirect());
        viaApi.push(await oneViaApi());
      }
    }
    await deployedApi.close();
    for (let i = 0; i < 30; i++) await oneViaApi(platform.url);
    for (let i = 0; i < options.submits / 2; i++) viaLocalPlatform.push(await oneViaApi(platform.url));

    // Raw SQS round trip: a long-polling receiver, then a send; time until the receive returns it.
    // The gpu DLQ is a quiet queue on the same fauxqs.
    const raw: number[] = [];
    const rawQueueUrl = benchQueue.deadLetterUrl;
    await drain(sqs, rawQueueUrl);
    for (let i = 0; i < options.dispatches; i++) {
      const receiving = sqs.send(new ReceiveMessageCommand({ QueueUrl: rawQueueUrl, WaitTimeSeconds: 20, MaxNumberOfMessages: 1 }));
      await sleep(2); // let the poll reach the server first, as a worker's poll would be waiting
      const t = performance.now();
      await sqs.send(new SendMessageCommand({ QueueUrl: rawQueueUrl, MessageBody: 'x' }));
      const out = await receiving;
      raw.push(performance.now() - t);
      for (const m of out.Messages ?? []) await sqs.send(new DeleteMessageCommand({ QueueUrl: rawQueueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }

    // Dispatch: one job at a time (an idle platform), submit → the worker's child process started.
    const dispatch: number[] = [];
    for (let i = 0; i < options.dispatches; i++) {
      const t = performance.now();
      const { id } = await post(platform.url, platform.adminKey, { command: ['true'], labels: { bench: 'dispatch' } });
      if (!started.has(id)) await new Promise<void>((resolve) => waiters.set(id, resolve));
      dispatch.push(started.get(id)! - t);
      waiters.delete(id);
      await sleep(5);
    }

    const submitApi = summarize(viaApi);
    const submitDirect = summarize(direct);
    const dispatchSummary = summarize(dispatch);
    const rawSummary = summarize(raw);
    process.stderr.write(
      `bench: submit p50 ${submitApi.p50} ms via the API vs ${submitDirect.p50} ms direct SDK: ratio ${ratio(submitApi.p50, submitDirect.p50)} (target ≤ 1.15)\n`,
    );
    return {
      submit: {
        viaApiMs: submitApi,
        directSdkMs: submitDirect,
        viaLocalPlatformMs: summarize(viaLocalPlatform),
        ratioP50: ratio(submitApi.p50, submitDirect.p50),
        ratioP99: ratio(submitApi.p99, submitDirect.p99),
        target: 'ratioP50 ≤ 1.15',
        meetsTarget: ratio(submitApi.p50, submitDirect.p50) <= 1.15,
      },
      dispatch: {
        submitToProcessStartMs: dispatchSummary,
        rawSqsSendToReceiveMs: rawSummary,
        p50OverRawMs: Math.round((dispatchSummary.p50 - rawSummary.p50) * 100) / 100,
        target: 'p50 at most 50 ms above raw',
      },
    };
  } finally {
    await platform.stop();
  }
}

/** An audit entry the size of a real submit's (same fields, a command and labels like the bench job's). */
function benchAuditEntry(seq: number, job: Job) {
  return {
    pk: 'BENCH',
    seq,
    time: job.createdAt,
    actor: job.owner,
    action: 'job.submit',
    target: `job:${job.id}`,
    details: { group: job.group, queue: job.queue, name: job.name, command: job.command, envNames: [], resources: job.resources, labels: job.labels },
    prevHash: 'e'.repeat(64),
    hash: 'f'.repeat(64),
  };
}

/** A QUEUED job as a submit stores it (pending), for benches that write jobs without the API. */
export function benchJob(queue: string, overrides: Partial<Job> = {}): Job {
  const at = new Date().toISOString();
  return {
    id: newJobId(),
    name: null,
    group: 'bench',
    owner: 'bench',
    state: 'QUEUED',
    queue,
    command: ['true'],
    env: {},
    timeoutSeconds: 86400,
    maxAttempts: 1,
    retryOn: ['NONZERO', 'WORKER_LOST'],
    retryDelaySeconds: 10,
    retryAt: null,
    dispatched: false,
    priority: 0,
    admittedAt: null,
    resources: { gpus: 0, cpu: 1, memoryMiB: 1024 },
    image: null,
    imagePullPolicy: 'IfNotPresent',
    labels: { bench: 'submit' },
    workdir: null,
    artifacts: [],
    attempt: 0,
    exitCode: null,
    reason: null,
    reasonCode: null,
    dependsOn: [],
    hold: null,
    createdAt: at,
    startedAt: null,
    finishedAt: null,
    cancelRequested: false,
    cancelRequestedBy: null,
    lease: null,
    holdings: [],
    history: [{ at, from: null, to: 'QUEUED', reason: 'submitted by bench' }],
    attempts: [],
    ...overrides,
  };
}

async function drain(sqs: ReturnType<typeof createSqsClient>, url: string) {
  for (;;) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 0, MaxNumberOfMessages: 10 }));
    if (!out.Messages?.length) return;
    for (const m of out.Messages) await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle! }));
  }
}
