import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../cli/main.ts';
import { createApiDependencies, type ApiDependencies } from '../../core/app/api-dependencies.ts';
import { createJobQueue } from '../../core/app/dispatch-dependencies.ts';
import { bootstrapAdminKey } from '../../core/auth/bootstrap-admin-key.ts';
import { DynamoDbApiKeyStore } from '../../core/auth/dynamodb-api-key-store.ts';
import type { RuntimeConfig } from '../../core/config.ts';
import type { Job } from '../../core/jobs/job.ts';
import { recoverLostAttempt } from '../../core/jobs/recovery.ts';
import { queueDefinition } from '../../core/resources.ts';
import { detectGpus } from '../../core/worker/gpus.ts';
import { Worker } from '../../core/worker/worker.ts';
import { costUsd, type AttemptUsage } from '../../core/usage/usage.ts';
import { DynamoDbUsageStore } from '../../core/usage/dynamodb-usage-store.ts';
import { DynamoDbWorkerRegistry } from '../../core/workers/dynamodb-registry.ts';
import { createHandlers } from '../../lambdas/handlers.ts';
import { ROUTES } from '../../lambdas/routes.ts';
import { startLocalApiServer, type LocalApiServer } from '../../local/http-server.ts';
import { fakeNvidiaSmiDir } from '../support/docker.ts';
import { createTestEnvironment, runtimeConfigFor, type TestEnvironment } from '../support/emulators.ts';
import { FAST_WORKER_OPTIONS, platformParts, waitForJob } from '../support/platform-parts.ts';
import { checkResponsesAgainstContract, type ContractCheck } from '../support/response-contract.ts';

/**
 * Usage and cost end to end on the real emulators: a GPU worker that finds four (fake) GPUs through
 * nvidia-smi on its PATH and a CPU worker, each with an instance price; jobs of two groups submitted
 * through the API by members; GET /v1/jobs/{id} and GET /v1/usage read back through the real
 * handlers, every response checked against the contract; `runplane usage` prints the report.
 */

const GPU_PRICE = 3.6; // USD per instance-hour: 0.001 per instance-second
const CPU_PRICE = 0.72;
const CPU_VCPUS = 4;
const TERMINAL = (j: Job) => ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(j.state);

describe('usage and cost', () => {
  let env: TestEnvironment;
  let config: RuntimeConfig;
  let server: LocalApiServer;
  let contract: ContractCheck<string>;
  let deps: ApiDependencies;
  let parts: ReturnType<typeof platformParts>;
  const keys: Record<'admin' | 'ml' | 'vision', string> = { admin: '', ml: '', vision: '' };
  let gpuWorker: Worker;
  let cpuWorker: Worker;
  let gpuCount = 0;
  const jobs: Record<string, Job> = {};
  let stoppedAt: number;

  async function call(path: string, token: string, method = 'GET', body?: unknown) {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function submit(token: string, spec: Record<string, unknown>): Promise<string> {
    const res = await call('/v1/jobs', token, 'POST', spec);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  }

  beforeAll(async () => {
    env = await createTestEnvironment([queueDefinition('default', { visibilityTimeoutSeconds: 30 }), queueDefinition('gpu', { visibilityTimeoutSeconds: 30 })]);
    config = runtimeConfigFor(env);
    deps = createApiDependencies(config, { queue: createJobQueue(config), log: () => undefined });
    contract = checkResponsesAgainstContract(createHandlers(async () => deps));
    server = await startLocalApiServer({ routes: ROUTES, handlers: contract.handlers, log: () => undefined });
    let stored: string | undefined;
    await bootstrapAdminKey({
      store: new DynamoDbApiKeyStore({ client: env.documentClient, tableName: config.tables.jobs }),
      secret: { read: async () => stored, write: async (v) => void (stored = v) },
    });
    keys.admin = stored!;
    for (const group of ['ml', 'vision'] as const) {
      const res = await call('/v1/api-keys', keys.admin, 'POST', { name: group, role: 'member', groups: [group] });
      keys[group] = res.body.key as string;
    }

    // The GPU worker finds its GPUs as a real one does: nvidia-smi on PATH (a fake listing four).
    const path = process.env.PATH;
    process.env.PATH = `${await fakeNvidiaSmiDir()}:${path}`;
    const gpus = await detectGpus();
    process.env.PATH = path;
    gpuCount = gpus.length;
    parts = platformParts(env);
    const registry = new DynamoDbWorkerRegistry({ client: env.documentClient, tableName: config.tables.jobs });
    const common = { ...parts, ...FAST_WORKER_OPTIONS, registry, reportIntervalSeconds: 0.5 };
    gpuWorker = new Worker({ ...common, pool: 'gpu', gpus, concurrency: 4, pricing: { usdPerInstanceHour: GPU_PRICE } });
    cpuWorker = new Worker({ ...common, pool: 'default', concurrency: 2, pricing: { usdPerInstanceHour: CPU_PRICE, vcpus: CPU_VCPUS } });
    gpuWorker.start();
    cpuWorker.start();

    const ids = {
      twoGpus: await submit(keys.ml, { queue: 'gpu', resources: { gpus: 2 }, command: ['sleep', '1'] }),
      oneGpu: await submit(keys.ml, { queue: 'gpu', resources: { gpus: 1 }, command: ['sleep', '0.5'] }),
      // Burns 0.8 s of CPU (its own count, whatever the machine's load) holding 80 MB, so CPU time
      // and peak memory have something to measure.
      cpu: await submit(keys.ml, {
        resources: { cpu: 2 },
        command: ['node', '-e', 'const b = Buffer.alloc(80e6, 1); while (process.cpuUsage().user < 800e3); console.log(b[7])'],
      }),
      // Two attempts: usage sums over both.
      retried: await submit(keys.ml, { queue: 'gpu', resources: { gpus: 1 }, command: ['sh', '-c', 'sleep 0.3; exit 3'], maxAttempts: 2, retryOn: ['NONZERO'], retryDelaySeconds: 0 }),
      vision: await submit(keys.vision, { queue: 'gpu', resources: { gpus: 3 }, command: ['sleep', '0.4'] }),
    };
    for (const [name, id] of Object.entries(ids)) jobs[name] = await waitForJob(parts.store, id, TERMINAL, 60_000);
    // Stopped workers close their lifetime records: idle capacity is measured against them.
    await Promise.all([gpuWorker.stop(), cpuWorker.stop()]);
    stoppedAt = Date.now();
  }, 180_000);

  afterAll(async () => {
    await Promise.all([gpuWorker?.stop(), cpuWorker?.stop()]);
    await server?.close();
    await env?.cleanup();
    expect(contract?.violations ?? []).toEqual([]);
  });

  const usageOf = (job: Job) => job.attempts.map((a) => a.usage!);
  const held = (a: { startedAt: string; finishedAt?: string }) => (Date.parse(a.finishedAt!) - Date.parse(a.startedAt)) / 1000;

  it('records each attempt: wall seconds from claim to end, GPU-seconds = wall × GPUs held, cost = price × share × hours', () => {
    expect(gpuCount).toBe(4);
    expect(jobs.retried!.attempts).toHaveLength(2);
    const gpuJobs = [jobs.twoGpus!, jobs.oneGpu!, jobs.retried!, jobs.vision!];
    for (const job of gpuJobs) {
      for (const attempt of job.attempts) {
        const u = attempt.usage!;
        expect(u.wallSeconds).toBeCloseTo(held(attempt), 3);
        expect(u.gpuSeconds).toBeCloseTo(u.wallSeconds * job.resources.gpus, 3);
        expect(attempt.costRate).toEqual({ usdPerInstanceHour: GPU_PRICE, instanceShare: job.resources.gpus / 4 });
        expect(u.costUsd).toBeCloseTo((GPU_PRICE * (job.resources.gpus / 4) * u.wallSeconds) / 3600, 5);
        expect(u.costUsd).toBeGreaterThan(0);
      }
    }
    // At least as long as the job slept; the share is of the four GPUs of the instance.
    expect(usageOf(jobs.twoGpus!)[0]!.wallSeconds).toBeGreaterThanOrEqual(1);
    expect(usageOf(jobs.vision!)[0]!.costUsd).toBe(costUsd({ usdPerInstanceHour: GPU_PRICE, instanceShare: 0.75 }, usageOf(jobs.vision!)[0]!.wallSeconds));
    // A CPU pool shares its instance by vCPUs: 2 of 4.
    const cpu = jobs.cpu!.attempts[0]!;
    expect(cpu.costRate).toEqual({ usdPerInstanceHour: CPU_PRICE, instanceShare: 2 / CPU_VCPUS });
    expect(cpu.usage!.gpuSeconds).toBe(0);
    expect(cpu.usage!.costUsd).toBeCloseTo((CPU_PRICE * 0.5 * cpu.usage!.wallSeconds) / 3600, 5);
  });

  it("measures the job's CPU time and peak memory", () => {
    const u = jobs.cpu!.attempts[0]!.usage!;
    expect(jobs.cpu!.state).toBe('SUCCEEDED');
    // The loop spun 0.8 s of CPU; the samples miss at most one interval at the end.
    expect(u.cpuSeconds).toBeGreaterThanOrEqual(0.3);
    expect(u.cpuSeconds).toBeLessThanOrEqual(u.wallSeconds + 0.5);
    expect(u.peakMemoryBytes).toBeGreaterThanOrEqual(80e6);
    // sleep uses next to no CPU.
    expect(usageOf(jobs.twoGpus!)[0]!.cpuSeconds).toBeLessThan(0.2);
  });

  it('GET /v1/jobs/{id} shows the sum over attempts and each attempt', async () => {
    const res = await call(`/v1/jobs/${jobs.retried!.id}`, keys.ml);
    expect(res.status).toBe(200);
    const attempts = res.body.attempts as { usage: AttemptUsage }[];
    const sum = res.body.usage as AttemptUsage;
    expect(attempts.map((a) => a.usage)).toEqual(usageOf(jobs.retried!));
    expect(sum.wallSeconds).toBeCloseTo(attempts[0]!.usage.wallSeconds + attempts[1]!.usage.wallSeconds, 3);
    expect(sum.gpuSeconds).toBeCloseTo(sum.wallSeconds, 3);
    expect(sum.costUsd).toBeCloseTo(attempts[0]!.usage.costUsd + attempts[1]!.usage.costUsd, 6);
    expect(sum.peakMemoryBytes).toBe(Math.max(...attempts.map((a) => a.usage.peakMemoryBytes!)));
  });

  type Row = { key: string; jobs: number; attempts: number; wallSeconds: number; gpuSeconds: number; cpuSeconds: number; costUsd: number };
  const sums = (list: Job[]) => {
    const all = list.flatMap(usageOf);
    return {
      jobs: list.length,
      attempts: all.length,
      wallSeconds: all.reduce((s, u) => s + u.wallSeconds, 0),
      gpuSeconds: all.reduce((s, u) => s + u.gpuSeconds, 0),
      costUsd: all.reduce((s, u) => s + u.costUsd, 0),
    };
  };
  const expectRow = (row: Row | undefined, list: Job[]) => {
    const want = sums(list);
    expect(row, JSON.stringify(list.map((j) => j.id))).toBeDefined();
    expect(row!.jobs).toBe(want.jobs);
    expect(row!.attempts).toBe(want.attempts);
    expect(row!.wallSeconds).toBeCloseTo(want.wallSeconds, 2);
    expect(row!.gpuSeconds).toBeCloseTo(want.gpuSeconds, 2);
    expect(row!.costUsd).toBeCloseTo(want.costUsd, 5);
  };

  it('GET /v1/usage aggregates by group, user, queue and day; admins see every group and idle capacity', async () => {
    const ml = [jobs.twoGpus!, jobs.oneGpu!, jobs.cpu!, jobs.retried!];
    const byGroup = await call('/v1/usage?by=group', keys.admin);
    expect(byGroup.status).toBe(200);
    const rows = byGroup.body.rows as Row[];
    expect(rows.map((r) => r.key)).toEqual(['ml', 'vision']);
    expectRow(rows[0], ml);
    expectRow(rows[1], [jobs.vision!]);
    expect(rows[0]!.cpuSeconds).toBeGreaterThanOrEqual(usageOf(jobs.cpu!)[0]!.cpuSeconds!);

    const byQueue = (await call('/v1/usage?by=queue', keys.admin)).body.rows as Row[];
    expect(byQueue.map((r) => r.key)).toEqual(['default', 'gpu']);
    expectRow(byQueue[0], [jobs.cpu!]);
    expectRow(byQueue[1], [jobs.twoGpus!, jobs.oneGpu!, jobs.retried!, jobs.vision!]);

    const byUser = (await call('/v1/usage?by=user', keys.admin)).body.rows as Row[];
    expect(byUser.map((r) => r.key).sort()).toEqual([jobs.twoGpus!.owner, jobs.vision!.owner].sort());
    expectRow(byUser.find((r) => r.key === jobs.vision!.owner), [jobs.vision!]);

    const byDay = (await call('/v1/usage?by=day', keys.admin)).body.rows as Row[];
    const days = [...new Set(Object.values(jobs).flatMap((j) => j.attempts.map((a) => a.finishedAt!.slice(0, 10))))];
    expect(byDay.map((r) => r.key)).toEqual(days.sort());
    expect(byDay.reduce((s, r) => s + r.attempts, 0)).toBe(6);

    // A window that ends before the jobs did holds none of them.
    const before = await call(`/v1/usage?to=${encodeURIComponent(jobs.twoGpus!.createdAt)}`, keys.admin);
    expect(before.body.rows).toEqual([]);

    // Idle: both workers' lifetimes (GPU at 3.6 $/h, CPU at 0.72 $/h) less the instance time jobs held.
    const idle = byGroup.body.idle as { instanceSeconds: number; costUsd: number };
    const lifetimes = await new DynamoDbUsageStore({ client: env.documentClient, tableName: config.tables.jobs }).listWorkerLifetimes({
      from: new Date(stoppedAt - 3600_000).toISOString(),
      to: new Date(stoppedAt + 1000).toISOString(),
    });
    expect(lifetimes.map((l) => l.workerId).sort()).toEqual([gpuWorker.workerId, cpuWorker.workerId].sort());
    const alive = lifetimes.map((l) => ({ l, seconds: (Date.parse(l.lastSeenAt) - Date.parse(l.startedAt)) / 1000 }));
    // Lifetimes end when the worker stopped, not at its first report.
    for (const { l } of alive) expect(Date.parse(l.lastSeenAt)).toBeGreaterThanOrEqual(Math.max(...Object.values(jobs).map((j) => Date.parse(j.finishedAt!))));
    const heldSeconds = Object.values(jobs).flatMap((j) => j.attempts.map((a) => a.usage!.wallSeconds * a.costRate!.instanceShare)).reduce((s, n) => s + n, 0);
    const instanceSeconds = alive.reduce((s, a) => s + a.seconds, 0);
    expect(idle.instanceSeconds).toBeCloseTo(instanceSeconds - heldSeconds, 1);
    const instanceCost = alive.reduce((s, a) => s + (a.seconds * a.l.usdPerInstanceHour) / 3600, 0);
    expect(idle.costUsd).toBeCloseTo(instanceCost - sums(Object.values(jobs)).costUsd, 5);
    expect(idle.costUsd).toBeGreaterThan(0);
  });

  it('members see only their own groups: another group is 403, their report has no idle line', async () => {
    const own = await call('/v1/usage', keys.ml);
    expect(own.status).toBe(200);
    expect((own.body.rows as Row[]).map((r) => r.key)).toEqual(['ml']);
    expect(own.body.idle).toBeNull();
    const other = await call('/v1/usage?group=vision', keys.ml);
    expect(other.status).toBe(403);
    expect((other.body.error as { code: string }).code).toBe('PERMISSION_DENIED');
    // Filtering by a user of another group finds nothing of theirs.
    const theirs = await call(`/v1/usage?user=${encodeURIComponent(jobs.vision!.owner)}`, keys.ml);
    expect(theirs.body.rows).toEqual([]);
    const bad = await call('/v1/usage?from=yesterday', keys.ml);
    expect(bad.status).toBe(400);
  });

  it('a lost attempt records its wall time up to the lease expiry, CPU and memory unknown', async () => {
    const { job } = await parts.service.submit({ queue: 'gpu', resources: { gpus: 2 } , command: ['true'] }, { subject: 'local', role: 'admin', groups: ['ml'] });
    const claimedAt = new Date();
    const running = await parts.store.claimAttempt({
      jobId: job.id,
      group: job.group,
      workerId: 'vanished',
      leaseId: 'lease-1',
      leaseExpiresAt: claimedAt.getTime() + 5_000,
      expectedAttempt: 0,
      now: claimedAt,
      costRate: { usdPerInstanceHour: GPU_PRICE, instanceShare: 0.5 },
    });
    // Recovered a minute later: the attempt is charged until its lease ran out, not until now.
    const recovered = await recoverLostAttempt(parts.store, running, () => new Date(claimedAt.getTime() + 60_000));
    const u = recovered.attempts[0]!.usage!;
    expect(u).toEqual({ wallSeconds: 5, gpuSeconds: 10, cpuSeconds: null, peakMemoryBytes: null, costUsd: costUsd({ usdPerInstanceHour: GPU_PRICE, instanceShare: 0.5 }, 5) });
    const report = await call(`/v1/usage?group=ml&by=queue&to=${encodeURIComponent(new Date(claimedAt.getTime() + 120_000).toISOString())}`, keys.admin);
    const gpuRow = (report.body.rows as Row[]).find((r) => r.key === 'gpu')!;
    expect(gpuRow.attempts).toBe(jobs.twoGpus!.attempts.length + jobs.oneGpu!.attempts.length + jobs.retried!.attempts.length + 1);
  });

  it('`runplane usage` prints the report like sacct, and --json prints the API body', async () => {
    const run = async (args: string[]) => {
      const stdout = new PassThrough();
      let text = '';
      stdout.on('data', (d: Buffer) => (text += d.toString()));
      const stderr = new PassThrough();
      let errors = '';
      stderr.on('data', (d: Buffer) => (errors += d.toString()));
      const code = await runCli(args, { stdout, stderr, env: { RUNPLANE_URL: server.url, RUNPLANE_TOKEN: keys.admin } });
      return { code, text, errors };
    };
    const table = await run(['usage', '--by', 'group', '--to', new Date(stoppedAt + 1000).toISOString()]);
    expect(table.code, table.errors).toBe(0);
    const lines = table.text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^usage of attempts ended .* by group$/);
    expect(lines[1]!.split(/\s+/)).toEqual(['GROUP', 'JOBS', 'ATTEMPTS', 'ELAPSED', 'GPU-HOURS', 'CPU-TIME', 'COST-USD']);
    const vision = lines.find((l) => l.startsWith('vision'))!.split(/\s+/);
    const v = usageOf(jobs.vision!)[0]!;
    expect(vision).toEqual(['vision', '1', '1', '00:00:0' + String(Math.round(v.wallSeconds)), (v.gpuSeconds / 3600).toFixed(3), expect.stringMatching(/^00:00:0\d$/), v.costUsd.toFixed(4)]);
    expect(lines.some((l) => l.startsWith('TOTAL'))).toBe(true);
    expect(lines.at(-1)).toMatch(/^\(idle\)\s+-\s+-\s+\d\d:\d\d:\d\d\s+-\s+-\s+\d+\.\d{4}$/);
    const json = await run(['usage', '--by', 'queue', '--json']);
    expect(json.code, json.errors).toBe(0);
    const body = JSON.parse(json.text) as { by: string; rows: Row[] };
    expect(body.by).toBe('queue');
    expect(body.rows.map((r) => r.key)).toEqual(['default', 'gpu']);
  });
});
