import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbClient } from '../core/app/clients.ts';
import { DynamoDbEventStore } from '../core/events/dynamodb-event-store.ts';
import { createWorkerDependencies } from '../core/app/worker-dependencies.ts';
import { LOCAL_CALLER } from '../core/auth/caller.ts';
import { createApiDependencies } from '../core/app/api-dependencies.ts';
import { createJobQueue } from '../core/app/dispatch-dependencies.ts';
import { isTerminal } from '../core/jobs/job.ts';
import { Worker } from '../core/worker/worker.ts';
import { startLocalPlatform } from '../local/platform.ts';
import { leadsOwnSession } from '../core/runtime/autogroup-priority.ts';

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

/** The job's own account of one run: its write loop, and its whole wall time (process start → last write). */
interface JobTiming {
  readonly writeMs: number;
  readonly jobMs: number;
}

type Target = 'devNull' | 'plainFile' | 'captured';
const TARGETS: readonly Target[] = ['devNull', 'plainFile', 'captured'];

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const percent = (a: number, b: number) => Math.round((a / b - 1) * 1000) / 10;

/**
 * The job: training-log-like lines (varying numbers: they compress about as well as real logs
 * do), in a 1 MiB block written `megabytes` times (further apart than deflate's 32 KiB window, so
 * repeating it gains nothing), synchronously (stdout is a file either way). `workPerMiB` rounds
 * of integer arithmetic before each block stand for the computing a real job does between its
 * log lines: a fixed amount of work, not of time, so a job slowed down shows it. At the end it
 * records how long its writing took (`writeMs`) and its whole wall time from process start
 * (`jobMs`, process.uptime): the job's own clock, the same code whatever its stdout is.
 */
function jobScript(megabytes: number, workPerMiB: number, timingPath: string): string {
  return (
    `const fs=require('fs');let r=7;const rnd=()=>(r=(r*48271)%2147483647)/2147483647;let block='';` +
    `for(let i=0;block.length<1048576;i++)block+=('epoch '+(i>>12)+' step '+i+' loss='+rnd().toFixed(6)+' acc='+rnd().toFixed(4)+' lr='+(rnd()*1e-3).toExponential(3)+' grad_norm='+(rnd()*10).toFixed(3))+'\\n';` +
    `let x=1;const work=(n)=>{for(let k=0;k<n;k++)x=(Math.imul(x,1103515245)+12345)|0};` +
    `const t=process.hrtime.bigint();for(let i=0;i<${megabytes};i++){work(${workPerMiB});fs.writeSync(1,block)}` +
    `fs.writeFileSync(${JSON.stringify(timingPath)},JSON.stringify({writeMs:Number(process.hrtime.bigint()-t)/1e6,jobMs:process.uptime()*1000,x}));`
  );
}

export interface OutputCostOptions {
  readonly megabytes: number;
  readonly rounds: number;
  readonly workingRounds: number;
  readonly workPerMiB: number;
}

const OPTIONS_ENV = 'RUNPLANE_BENCH_OUTPUT_COST';

/**
 * Runs the measurement (measureOutputCost) in a process that leads a session of its own, as a
 * platform under a service manager does: only there does the platform lower its own CPU priority
 * below its jobs' (core/runtime/autogroup-priority.ts); lowering the autogroup of `npm run bench`
 * would lower the caller's terminal session for good. BENCH_EQUAL_PRIORITY=1 measures without it.
 */
export async function benchOutputCost(options: OutputCostOptions): Promise<Awaited<ReturnType<typeof measureOutputCost>>> {
  if (await leadsOwnSession()) return measureOutputCost(options);
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    detached: true,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, [OPTIONS_ENV]: JSON.stringify(options) },
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`the outputCost session exited with ${code}`);
  return JSON.parse(out) as Awaited<ReturnType<typeof measureOutputCost>>;
}

/**
 * The cost of output: DynamoDB write units per MiB, end-to-end throughput (submit → every byte
 * stored and archived, SUCCEEDED), and how much capturing slows the job itself.
 *
 * Slowdown: the same job run by the same worker in the same run with its stdout to /dev/null, to
 * a plain file of its own (`> file`: what any capture to a file costs at least, the kernel copying
 * the bytes into the page cache, which /dev/null skips) and captured by the worker (our capture
 * file, tailed, stored and archived). Each run waits until the job is SUCCEEDED, so nothing of one
 * run overlaps the next; `rounds` rounds, the three kinds interleaved, and the figures are medians
 * of the job's own wall time. Two jobs: `pureWriter` does nothing but write `megabytes` (~100 ms:
 * the worst case, where the page-cache copy alone is a large share), `workingJob` computes
 * between its blocks like a real job (~2 s), writing the same bytes.
 */
async function measureOutputCost(options: OutputCostOptions) {
  const platform = await startLocalPlatform({
    inMemory: true,
    port: 0,
    workerPools: [],
    dataDir: `/tmp/runplane-bench-${randomUUID().slice(0, 8)}`,
    log: () => undefined,
    yieldCpuToJobs: process.env.BENCH_EQUAL_PRIORITY !== '1',
  });
  const scratch = mkdtempSync(join(tmpdir(), 'runplane-output-bench-'));
  const { config } = platform;
  // Built like the worker's own (the local platform's credentials pick its DynamoDB Local database).
  const documentClient = createDynamoDbClient(config);
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
  let runs = 0;
  const runJob = async (target: Target, megabytes: number, workPerMiB: number) => {
    const timingPath = join(scratch, `timing-${runs++}`);
    const script = jobScript(megabytes, workPerMiB, timingPath);
    const command =
      target === 'captured' ? ['node', '-e', script] : ['sh', '-c', `exec node -e "$0" > ${target === 'devNull' ? '/dev/null' : join(scratch, 'out')}`, script];
    const units = counter.units();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const { job } = await api.jobs.submit({ command }, LOCAL_CALLER);
    for (;;) {
      const j = await api.jobs.get(job.id, LOCAL_CALLER);
      if (isTerminal(j.state)) {
        const timing = JSON.parse(readFileSync(timingPath, 'utf8')) as JobTiming;
        const cpu = process.cpuUsage(cpu0);
        const cpuMs = (cpu.user + cpu.system) / 1000;
        return { job: j, seconds: (performance.now() - t0) / 1000, writeUnits: counter.units() - units, cpuMs, timing };
      }
      await sleep(100);
    }
  };
  /** `rounds` × the three targets, interleaved (the order turns each round, so none always runs first). */
  const compare = async (rounds: number, megabytes: number, workPerMiB: number) => {
    const samples: Record<Target, JobTiming[]> = { devNull: [], plainFile: [], captured: [] };
    const states = new Set<string>();
    let last: Awaited<ReturnType<typeof runJob>> | undefined;
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < TARGETS.length; k++) {
        const target = TARGETS[(round + k) % TARGETS.length]!;
        const run = await runJob(target, megabytes, workPerMiB);
        states.add(run.job.state);
        samples[target].push(run.timing);
        if (target === 'captured') last = run;
      }
    }
    const by = (pick: (s: JobTiming) => number, of: (xs: number[]) => number) =>
      Object.fromEntries(TARGETS.map((t) => [t, Math.round(of(samples[t].map(pick)))])) as Record<Target, number>;
    const jobMs = by((s) => s.jobMs, median);
    const fastestJobMs = by((s) => s.jobMs, (xs) => Math.min(...xs));
    return {
      figures: {
        rounds,
        states: [...states],
        // The job's own wall time (process start → after its last write): medians, and the fastest
        // run of each (other tenants' load only ever adds time; the worker's own work is in every captured run).
        jobMs,
        fastestJobMs,
        writeLoopMs: by((s) => s.writeMs, median),
        jobMsAll: Object.fromEntries(TARGETS.map((t) => [t, samples[t].map((s) => Math.round(s.jobMs))])),
        slowdownVsDevNullPercent: percent(jobMs.captured, jobMs.devNull),
        slowdownVsPlainFilePercent: percent(jobMs.captured, jobMs.plainFile),
        plainFileVsDevNullPercent: percent(jobMs.plainFile, jobMs.devNull),
        fastestSlowdownVsDevNullPercent: percent(fastestJobMs.captured, fastestJobMs.devNull),
        fastestSlowdownVsPlainFilePercent: percent(fastestJobMs.captured, fastestJobMs.plainFile),
        targetSlowdown: '≤ 5%',
      },
      last: last!,
    };
  };
  try {
    const pure = await compare(options.rounds, options.megabytes, 0);
    const working = await compare(options.workingRounds, options.megabytes, options.workPerMiB);
    const captured = pure.last;
    const bytes = captured.job.attempts[0]?.logArchive?.bytes ?? 0;
    const mib = bytes / 1024 / 1024;
    return {
      // The autogroups' nice values (core/runtime/autogroup-priority.ts): the platform yields to its jobs.
      cpuPriority: platform.cpuPriority ?? 'equal (BENCH_EQUAL_PRIORITY=1)',
      outputMiB: Math.round(mib),
      archivedBytes: bytes,
      // Of the last captured run of the pure writer.
      writeUnits: Math.round(captured.writeUnits),
      writeUnitsPerMiB: Math.round(captured.writeUnits / mib),
      targetWriteUnitsPerMiB: '≤ 300',
      endToEndSeconds: Math.round(captured.seconds * 10) / 10,
      throughputMiBps: Math.round((mib / captured.seconds) * 10) / 10,
      // CPU of this process (worker, API, fauxqs) from submit to SUCCEEDED: what the worker takes
      // from the job's cores per MiB (DynamoDB Local's own, a separate process, is not counted).
      workerCpuMsPerMiB: Math.round(captured.cpuMs / mib),
      pureWriter: pure.figures,
      workingJob: { workPerMiB: options.workPerMiB, ...working.figures },
    };
  } finally {
    await worker.stop({ drainSeconds: 0 });
    await platform.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

// The session's entry (see benchOutputCost). Its stdin is the bench's line: closed, the bench is gone.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.env[OPTIONS_ENV]) {
  process.stdin.on('end', () => process.exit(1)).resume();
  const result = await measureOutputCost(JSON.parse(process.env[OPTIONS_ENV]) as OutputCostOptions);
  // Exit once the pipe has it: a pipe loses what is written just before process.exit().
  process.stdout.write(JSON.stringify(result), () => process.exit(0));
}
