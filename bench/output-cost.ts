import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../core/aws/dynamodb-client.ts';
import { DynamoDbEventStore } from '../core/events/dynamodb-event-store.ts';
import { createWorkerDependencies } from '../core/app/worker-dependencies.ts';
import { LOCAL_CALLER } from '../core/auth/caller.ts';
import { createApiDependencies } from '../core/app/api-dependencies.ts';
import { createJobQueue } from '../core/app/dispatch-dependencies.ts';
import { isTerminal } from '../core/jobs/job.ts';
import { Worker } from '../core/worker/worker.ts';
import { startLocalPlatform } from '../local/platform.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sums the write capacity DynamoDB (Local) reports for every BatchWriteItem the client sends. */
function countWriteUnits(client: DynamoDBDocumentClient): { readonly units: () => number } {
  let units = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { ReturnConsumedCapacity?: string };
      if (/^BatchWrite/.test(context.commandName ?? '')) input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number }[] }).ConsumedCapacity;
      for (const c of consumed ?? []) units += c.CapacityUnits ?? 0;
      return result;
    },
    { step: 'initialize', name: 'countWriteUnits' },
  );
  return { units: () => units };
}

/**
 * The cost of output: DynamoDB write units per MiB, end-to-end throughput (submit → every byte
 * stored and archived, SUCCEEDED), and how much capturing slows the job itself: the job times its
 * own writing of `megabytes` to stdout (our capture file) against the same job writing to /dev/null,
 * both run by the same worker.
 */
export async function benchOutputCost(options: { megabytes: number }) {
  const platform = await startLocalPlatform({
    inMemory: true,
    port: 0,
    workerPools: [],
    dataDir: `/tmp/runplane-bench-${randomUUID().slice(0, 8)}`,
    log: () => undefined,
  });
  const scratch = mkdtempSync(join(tmpdir(), 'runplane-output-bench-'));
  const { config } = platform;
  const documentClient = createDocumentClient({ region: config.region, ...(config.endpoints.dynamodb ? { endpoint: config.endpoints.dynamodb } : {}) });
  const counter = countWriteUnits(documentClient);
  // The worker's own stores, but events written through the counting client (same retention: the TTL attribute is paid for too).
  const events = new DynamoDbEventStore({
    client: documentClient,
    tableName: config.tables.events,
    ...(config.eventRetentionDays !== undefined ? { retentionDays: config.eventRetentionDays } : {}),
  });
  const worker = new Worker({ ...createWorkerDependencies(config), events, pool: 'default', pollWaitSeconds: 1 });
  worker.start();
  const api = createApiDependencies(platform.config, { queue: createJobQueue(platform.config) });
  try {
    // Training-log-like lines (varying numbers: they compress about as well as real logs do), in a
    // 1 MiB block written over and over (further apart than deflate's 32 KiB window, so repeating
    // it gains nothing), synchronously (stdout is a file either way); then the job records how
    // long its writing took.
    const script = (timing: string) =>
      `const fs=require('fs');let r=7;const rnd=()=>(r=(r*48271)%2147483647)/2147483647;let block='';` +
      `for(let i=0;block.length<1048576;i++)block+=('epoch '+(i>>12)+' step '+i+' loss='+rnd().toFixed(6)+' acc='+rnd().toFixed(4)+' lr='+(rnd()*1e-3).toExponential(3)+' grad_norm='+(rnd()*10).toFixed(3))+'\\n';` +
      `const t=process.hrtime.bigint();for(let i=0;i<${options.megabytes};i++)fs.writeSync(1,block);` +
      `fs.writeFileSync(${JSON.stringify(timing)},JSON.stringify({writeMs:Number(process.hrtime.bigint()-t)/1e6,jobMs:process.uptime()*1000}));`;
    const run = async (command: string[]) => {
      const t0 = performance.now();
      const { job } = await api.jobs.submit({ command }, LOCAL_CALLER);
      for (;;) {
        const j = await api.jobs.get(job.id, LOCAL_CALLER);
        if (isTerminal(j.state)) return { job: j, seconds: (performance.now() - t0) / 1000 };
        await sleep(50);
      }
    };
    const nullTiming = join(scratch, 'null-ms');
    const devNull = await run(['sh', '-c', `exec node -e "$0" > /dev/null`, script(nullTiming)]);
    const fileTiming = join(scratch, 'file-ms');
    const plainFile = await run(['sh', '-c', `exec node -e "$0" > ${join(scratch, 'out')}`, script(fileTiming)]);
    const before = counter.units();
    const capturedTiming = join(scratch, 'captured-ms');
    const captured = await run(['node', '-e', script(capturedTiming)]);
    const writeUnits = counter.units() - before;
    const archived = captured.job.attempts[0]?.logArchive;
    const timing = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as { writeMs: number; jobMs: number };
    const toNull = timing(nullTiming);
    const toFile = timing(fileTiming);
    const toCapture = timing(capturedTiming);
    const percent = (a: number, b: number) => Math.round((a / b - 1) * 1000) / 10;
    const bytes = archived?.bytes ?? 0;
    const mib = bytes / 1024 / 1024;
    return {
      outputMiB: Math.round(mib),
      states: [devNull.job.state, plainFile.job.state, captured.job.state],
      archivedBytes: bytes,
      writeUnits: Math.round(writeUnits),
      writeUnitsPerMiB: Math.round(writeUnits / mib),
      targetWriteUnitsPerMiB: '≤ 300',
      endToEndSeconds: Math.round(captured.seconds * 10) / 10,
      throughputMiBps: Math.round((mib / captured.seconds) * 10) / 10,
      // The job's whole run (process.uptime at its end) and its write loop alone, three ways.
      jobMs: { devNull: Math.round(toNull.jobMs), plainFile: Math.round(toFile.jobMs), captured: Math.round(toCapture.jobMs) },
      writeLoopMs: { devNull: Math.round(toNull.writeMs), plainFile: Math.round(toFile.writeMs), captured: Math.round(toCapture.writeMs) },
      jobSlowdownVsDevNullPercent: percent(toCapture.jobMs, toNull.jobMs),
      jobSlowdownVsPlainFilePercent: percent(toCapture.jobMs, toFile.jobMs),
      targetSlowdown: '≤ 5%',
    };
  } finally {
    await worker.stop({ drainSeconds: 0 });
    await platform.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
