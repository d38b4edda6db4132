import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbClient } from '../core/app/clients.ts';
import { dynamoItemSizeBytes } from '../core/events/item-size.ts';
import { jobKey } from '../core/jobs/job-item.ts';
import { createApiDependencies } from '../core/app/api-dependencies.ts';
import { createJobQueue } from '../core/app/dispatch-dependencies.ts';
import { logArchiveDependencies } from '../core/app/log-archive-dependencies.ts';
import { createWorkerDependencies } from '../core/app/worker-dependencies.ts';
import type { RuntimeConfig } from '../core/config.ts';
import type { MeteredCall, RequestMeter } from '../core/aws/request-meter.ts';
import type { ApiHandler } from '../core/http/api-handler.ts';
import { sweep } from '../core/maintenance/maintenance.ts';
import { Worker } from '../core/worker/worker.ts';
import { createHandlers } from '../lambdas/handlers.ts';
import { ROUTES } from '../lambdas/routes.ts';
import { startLocalApiServer } from '../local/http-server.ts';
import { startLocalPlatform } from '../local/platform.ts';
import { US_EAST_1_PRICES as PRICE } from './aws-prices.ts';
import { summarize } from './stats.ts';
import { formatTrace, traceOfJob, type TracedCall } from './call-trace.ts';

/** Lambda memory of every API handler (lib/handler-function.ts default). */
const HANDLER_MEMORY_MB = 512;
const MINUTES_PER_MONTH = 30 * 24 * 60;
/** Scheduled functions (lib/reliability.ts, lib/scaler.ts): invocations per month. */
const SCHEDULED_PER_MONTH = { maintenance: MINUTES_PER_MONTH, scaler: MINUTES_PER_MONTH, auditCheckpoint: MINUTES_PER_MONTH / 5 };

/** S3 bills GET-class requests at a tenth of PUT-class ones (PUT, COPY, POST, LIST, multipart parts); deletes and aborts are free. */
const S3_GET_CLASS = new Set(['GetObject', 'HeadObject']);
const S3_FREE = new Set(['DeleteObject', 'DeleteObjects', 'AbortMultipartUpload']);

/** Sums what the SDK clients did, per service and operation. */
class CountingMeter implements RequestMeter {
  readonly calls = new Map<string, { count: number; readUnits: number; writeUnits: number }>();
  /** Every call in order, for the per-call breakdown of one job. */
  readonly traced: TracedCall[] = [];
  /** While paused, calls are not counted (the calibration of handler durations). */
  paused = false;
  record(call: MeteredCall): void {
    if (this.paused) return;
    this.traced.push({ atMs: performance.now(), call });
    const key = `${call.service}:${call.operation}`;
    const entry = this.calls.get(key) ?? { count: 0, readUnits: 0, writeUnits: 0 };
    entry.count++;
    entry.readUnits += call.readUnits;
    entry.writeUnits += call.writeUnits;
    this.calls.set(key, entry);
  }
  total(service: string) {
    let count = 0;
    let readUnits = 0;
    let writeUnits = 0;
    for (const [key, e] of this.calls) {
      if (!key.startsWith(`${service}:`)) continue;
      count += e.count;
      readUnits += e.readUnits;
      writeUnits += e.writeUnits;
    }
    return { count, readUnits, writeUnits };
  }
}

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * The platform's AWS cost per 1 million one-minute jobs, counted, not estimated: real one-minute
 * jobs (a line of output a second) run through the real handlers and a real worker with its
 * default heartbeat, lease and output batching, on DynamoDB Local and fauxqs, while a meter on
 * every SDK client counts requests and the capacity DynamoDB reports (`ReturnConsumedCapacity`).
 * Each job's client submits it (with an idempotency key), reads it once and reads its logs once
 * after it ended; nobody follows its output while it runs (a batch of a million jobs), so the
 * worker stores it in unfollowed batches (specs/05-output-batching.md, decision 17). Jobs arrive
 * `arrivalMs` apart.
 * The scheduled functions (sweeper, scaler, audit checkpoint) are a fixed monthly cost, added
 * as if the million jobs ran within one month. Prices: bench/aws-prices.ts.
 */
export async function benchCost(options: { jobs: number; jobSeconds: number; arrivalMs: number }) {
  const platform = await startLocalPlatform({
    inMemory: true,
    port: 0,
    workers: 0,
    dataDir: `/tmp/runplane-bench-cost-${randomUUID().slice(0, 8)}`,
    log: () => undefined,
    maintenanceIntervalSeconds: 3600,
    auditCheckpointSeconds: 3600,
  });
  const meter = new CountingMeter();
  const invocationsMs: number[] = [];
  const msByHandler: Record<string, number[]> = {};
  /** Each handler's durations called one at a time on an otherwise idle platform (the GB-seconds model). */
  const calibrationMs: Record<string, number[]> = {};
  let calibrating = false;
  try {
    const { config } = platform;
    // The handlers as deployed: the routes that read output read the log archive too (S3, metered).
    const deps = createApiDependencies(config, { queue: createJobQueue(config, { meter }), meter, ...logArchiveDependencies(config, { meter }) });
    const timed = Object.fromEntries(
      Object.entries(createHandlers(async () => deps)).map(([name, handler]: [string, ApiHandler]) => [
        name,
        (async (event, context) => {
          const t = performance.now();
          try {
            return await handler(event, context);
          } finally {
            const ms = performance.now() - t;
            if (calibrating) (calibrationMs[name] ??= []).push(ms);
            else {
              invocationsMs.push(ms);
              (msByHandler[name] ??= []).push(ms);
            }
          }
        }) satisfies ApiHandler,
      ]),
    );
    const api = await startLocalApiServer({ routes: ROUTES, handlers: timed, port: 0, log: () => undefined });
    const finished = new Map<string, () => void>();
    const jobIds: string[] = [];
    const worker = new Worker({
      ...createWorkerDependencies(config, { meter }),
      pool: 'default',
      concurrency: options.jobs,
      log: (_level, message, fields) => {
        if (message === 'job finished' && typeof fields?.jobId === 'string') finished.get(fields.jobId)?.();
      },
    });
    worker.start();
    try {
      const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
        const res = await fetch(`${api.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${platform.adminKey}`, 'content-type': 'application/json', ...headers },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await res.text();
        if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
        // `/logs` answers text/plain.
        return (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : {}) as { id?: string };
      };
      const script = `i=0; while [ $i -lt ${options.jobSeconds} ]; do i=$((i+1)); echo "line $i"; sleep 1; done`;
      await Promise.all(
        Array.from({ length: options.jobs }, async (_, n) => {
          // Jobs arrive spread out, as a million a month do (about one every 2.6 s), not all in
          // the same millisecond: a Lambda's duration does not grow with how many others run at
          // once, but here every handler shares two cores and one DynamoDB Local, so a burst
          // would bill the emulator's queueing as Lambda time.
          await new Promise((r) => setTimeout(r, n * options.arrivalMs));
          const { id } = await call('POST', '/v1/jobs', { command: ['sh', '-c', script], labels: { bench: 'cost', n: String(n) } }, { 'idempotency-key': randomUUID() });
          jobIds[n] = id!;
          await new Promise<void>((resolve) => finished.set(id!, resolve));
          await call('GET', `/v1/jobs/${id}`);
          await call('GET', `/v1/jobs/${id}/logs`);
        }),
      );
      // A Lambda runs one request at a time, and here twenty jobs' handlers, their worker and the
      // emulators share two cores with whatever else the machine runs: durations measured during
      // the run bill that queueing as Lambda time (between runs of the same code, $1 to $18 of
      // GB-seconds). So each handler is timed again, one call at a time with the jobs done, and
      // the GB-seconds are its median times the calls the run made (the run's own durations are
      // reported beside it). Not metered: these calls are not part of the workload.
      meter.paused = true;
      calibrating = true;
      for (const id of jobIds) {
        await call('POST', '/v1/jobs', { command: ['true'], queue: 'gpu', labels: { bench: 'cost-calibration' } }, { 'idempotency-key': randomUUID() });
        await call('GET', `/v1/jobs/${id}`);
        await call('GET', `/v1/jobs/${id}/logs`);
      }
      calibrating = false;
      meter.paused = false;
    } finally {
      await worker.stop({ drainSeconds: 0 });
      await api.close();
    }
    // One scheduled sweep, metered, for the fixed monthly part.
    const sweepMeter = new CountingMeter();
    const sweepStarted = performance.now();
    await sweep(meteredMaintenance(config, sweepMeter), config.queues.map((q) => q.pool));
    const sweepMs = performance.now() - sweepStarted;

    const perJob = (x: number) => x / options.jobs;
    const dynamodb = meter.total('dynamodb');
    const requests = invocationsMs.length;
    const billedMs = (ms: number) => Math.max(1, Math.ceil(ms)) / 1000;
    const gbPerSecond = HANDLER_MEMORY_MB / 1024;
    const gbSeconds = Object.entries(msByHandler).reduce(
      (sum, [name, samples]) => sum + samples.length * billedMs(summarize(calibrationMs[name] ?? samples).p50),
      0,
    ) * gbPerSecond;
    const gbSecondsUnderLoad = invocationsMs.reduce((sum, ms) => sum + billedMs(ms), 0) * gbPerSecond;
    const million = 1e6;
    const lines: { item: string; perJob: number; usd: number }[] = [
      { item: 'API Gateway HTTP requests', perJob: perJob(requests), usd: perJob(requests) * million * PRICE.apiGatewayHttpRequest },
      { item: 'Lambda requests (API handlers)', perJob: perJob(requests), usd: perJob(requests) * million * PRICE.lambdaRequest },
      { item: `Lambda GB-seconds (API handlers, ${HANDLER_MEMORY_MB} MB arm64, each call at its handler's one-at-a-time median)`, perJob: perJob(gbSeconds), usd: perJob(gbSeconds) * million * PRICE.lambdaArmGbSecond },
      ...[...meter.calls].filter(([k]) => k.startsWith('sqs:')).map(([k, e]) => ({ item: `SQS ${k.slice(4)}`, perJob: perJob(e.count), usd: perJob(e.count) * million * PRICE.sqsRequest })),
      { item: 'DynamoDB write units', perJob: perJob(dynamodb.writeUnits), usd: perJob(dynamodb.writeUnits) * million * PRICE.dynamodbWriteUnit },
      { item: 'DynamoDB read units', perJob: perJob(dynamodb.readUnits), usd: perJob(dynamodb.readUnits) * million * PRICE.dynamodbReadUnit },
      ...[...meter.calls]
        .filter(([k]) => k.startsWith('s3:'))
        .map(([k, e]) => {
          const getClass = S3_GET_CLASS.has(k.slice(3));
          const free = S3_FREE.has(k.slice(3));
          const price = free ? 0 : getClass ? PRICE.s3ReadRequest : PRICE.s3WriteRequest;
          return { item: `S3 ${k.slice(3)}${free ? ' (free)' : getClass ? ' (GET class)' : ' (PUT class)'}`, perJob: perJob(e.count), usd: perJob(e.count) * million * price };
        }),
    ];
    const sweepUnits = sweepMeter.total('dynamodb');
    const scheduledInvocations = SCHEDULED_PER_MONTH.maintenance + SCHEDULED_PER_MONTH.scaler + SCHEDULED_PER_MONTH.auditCheckpoint;
    lines.push({
      item: 'scheduled functions for a month (sweeper, scaler, checkpoint: requests, GB-s, their DynamoDB reads and SQS calls)',
      perJob: 0,
      usd:
        scheduledInvocations * (PRICE.lambdaRequest + (Math.max(1, sweepMs) / 1000) * (256 / 1024) * PRICE.lambdaArmGbSecond) +
        SCHEDULED_PER_MONTH.maintenance * (sweepUnits.readUnits * PRICE.dynamodbReadUnit + sweepUnits.writeUnits * PRICE.dynamodbWriteUnit) +
        SCHEDULED_PER_MONTH.scaler * config.queues.length * PRICE.sqsRequest,
    });
    const total = lines.reduce((sum, l) => sum + l.usd, 0);
    // Where the write units of one job go: the first job's calls (a group commit that carried
    // another job's entry too is counted whole here).
    const tables = { [config.tables.jobs]: 'jobs', [config.tables.events]: 'events', [config.tables.audit]: 'audit' };
    const trace = jobIds[0] ? traceOfJob(meter.traced, jobIds[0], tables) : [];
    const finalItem = jobIds[0] ? (await createDynamoDbClient(config).send(new GetCommand({ TableName: config.tables.jobs, Key: jobKey(jobIds[0]) }))).Item : undefined;
    const jobItemBytes = finalItem ? dynamoItemSizeBytes(finalItem) : 0;
    if (process.env.DUMP_ITEM) console.error(JSON.stringify(finalItem, null, 1));
    process.stderr.write(`bench: calls that name job 0 (${jobIds[0]}, its item ${jobItemBytes} B at the end):\n${formatTrace(trace)}`);
    const biggest = [...lines].sort((a, b) => b.usd - a.usd).slice(0, 4);
    process.stderr.write(
      `bench: cost per 1M one-minute jobs $${total.toFixed(2)} (target ≤ $10); biggest: ${biggest.map((l) => `${l.item} $${l.usd.toFixed(2)}`).join('; ')}\n`,
    );
    return {
      jobs: options.jobs,
      jobSeconds: options.jobSeconds,
      perMillionJobsUsd: round(total, 2),
      target: 'perMillionJobsUsd ≤ 10',
      meetsTarget: total <= 10,
      lineItems: lines.map((l) => ({ ...l, perJob: round(l.perJob), usd: round(l.usd, 3) })).sort((a, b) => b.usd - a.usd),
      handlerMs: Object.fromEntries(Object.entries(msByHandler).map(([name, samples]) => [name, summarize(samples)])),
      handlerMsOneAtATime: Object.fromEntries(Object.entries(calibrationMs).map(([name, samples]) => [name, summarize(samples)])),
      lambdaUsdUnderLoad: round(perJob(gbSecondsUnderLoad) * million * PRICE.lambdaArmGbSecond, 3),
      jobItemBytes,
      traceOfOneJob: trace,
      calls: Object.fromEntries([...meter.calls].map(([k, e]) => [k, { perJob: round(perJob(e.count), 2), readUnitsPerJob: round(perJob(e.readUnits), 2), writeUnitsPerJob: round(perJob(e.writeUnits), 2) }])),
    };
  } finally {
    await platform.stop();
  }
}

/** The sweeper's store and queue over metered clients (the rest of its dependencies as they are). */
function meteredMaintenance(config: RuntimeConfig, meter: RequestMeter) {
  const worker = createWorkerDependencies(config, { meter });
  const { jobs } = createApiDependencies(config, { queue: worker.queue, meter });
  return { store: worker.store, queue: worker.queue, jobs };
}
