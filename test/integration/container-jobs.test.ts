import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CALLER } from '../../core/auth/caller.ts';
import { runtimeConfigToEnv } from '../../core/config.ts';
import { isTerminal } from '../../core/jobs/job.ts';
import { CONTAINER_LABELS, ContainerRuntime } from '../../core/runtime/container-runtime.ts';
import { ImageRoutingRuntime } from '../../core/runtime/image-routing-runtime.ts';
import { ProcessRuntime } from '../../core/runtime/process-runtime.ts';
import { detectGpus } from '../../core/worker/gpus.ts';
import { Worker } from '../../core/worker/worker.ts';
import { dockerForTests, ensureTestImage, fakeNvidiaSmiDir } from '../support/docker.ts';
import { createTestEnvironment, runtimeConfigFor, type TestEnvironment } from '../support/emulators.ts';
import { platformParts, waitForJob } from '../support/platform-parts.ts';

/**
 * Container jobs on a real Docker Engine (a locally imported busybox image, no registry) and the
 * real emulators. Containers use network `none` only. Without an engine these tests fail in CI and
 * say loudly outside it that they did not run.
 */
describe('container jobs (Docker Engine)', () => {
  let env: TestEnvironment;
  let parts: ReturnType<typeof platformParts>;
  let docker: Docker | undefined;
  let image: string;
  let worker: Worker | undefined;
  let workRoot: string;
  /** `docker inspect` of every container the runtime created, taken right after creation. */
  const created: Docker.ContainerInspectInfo[] = [];

  beforeAll(async () => {
    docker = await dockerForTests();
    env = await createTestEnvironment();
    parts = platformParts(env);
    workRoot = await mkdtemp(join(tmpdir(), 'runplane-container-work-'));
    if (!docker) return;
    image = await ensureTestImage(docker);
    const create = docker.createContainer.bind(docker);
    docker.createContainer = async (options: Docker.ContainerCreateOptions) => {
      const container = await create(options);
      created.push(await container.inspect());
      return container;
    };
  }, 120_000);
  afterEach(async () => {
    await worker?.stop({ drainSeconds: 0 });
    worker = undefined;
  });
  afterAll(async () => {
    await env.cleanup();
    await rm(workRoot, { recursive: true, force: true });
  });

  const containersOf = async (jobId: string) =>
    docker!.listContainers({ all: true, filters: { label: [`${CONTAINER_LABELS.jobId}=${jobId}`] } });
  const inspectedFor = (jobId: string) => created.filter((c) => c.Config.Labels[CONTAINER_LABELS.jobId] === jobId);

  const startWorker = (overrides: Partial<ConstructorParameters<typeof Worker>[0]> = {}) => {
    worker = new Worker({
      ...parts,
      pool: 'default',
      concurrency: 2,
      leaseSeconds: 10,
      heartbeatSeconds: 0.2,
      killGraceSeconds: 1,
      pollWaitSeconds: 1,
      flushIntervalMs: 20,
      workRoot,
      baseEnv: { PATH: '/usr/bin:/bin', WORKER_SECRET: 'must-not-leak' },
      runtime: new ImageRoutingRuntime(new ProcessRuntime(), new ContainerRuntime({ docker: docker!, network: 'none' })),
      ...overrides,
    });
    worker.start();
    return worker;
  };
  const logs = async (jobId: string, attempt = 1) => (await parts.service.logs(jobId, { attempt: String(attempt) }, LOCAL_CALLER)).bytes.toString('utf8');
  const engine = () => {
    if (!docker) console.warn('!!! NOT RUN: no Docker Engine');
    return docker !== undefined;
  };

  it('runs a job in its own locked-down container: output, exit code, job env only, work dir mounted, limits', { timeout: 60_000 }, async () => {
    if (!engine()) return;
    startWorker();
    const { job } = await parts.service.submit(
      {
        image,
        command: ['sh', '-c', 'echo "out $GREETING $(pwd) ${WORKER_SECRET:-none} $RUNPLANE_WORKDIR"; echo err >&2; echo kept > file; cat file; exit 4'],
        env: { GREETING: 'hello' },
        resources: { memoryMiB: 96, cpu: 0.5 },
      },
      LOCAL_CALLER,
    );
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 30_000);
    expect(done).toMatchObject({ state: 'FAILED', exitCode: 4, reason: 'exited with code 4' });
    // stdout and stderr are two streams: each keeps its order, not their interleaving.
    const lines = (await logs(job.id)).split('\n');
    expect([...lines].sort()).toEqual(['', 'err', 'kept', 'out hello /work none /work']);
    expect(lines.indexOf('out hello /work none /work')).toBeLessThan(lines.indexOf('kept'));
    const [info] = inspectedFor(job.id);
    expect(info).toBeDefined();
    const host = info!.HostConfig;
    expect(host.Memory).toBe(96 * 1024 * 1024);
    expect(host.MemorySwap).toBe(96 * 1024 * 1024);
    expect(host.NanoCpus).toBe(500_000_000);
    expect(host.NetworkMode).toBe('none');
    expect(host.CapDrop).toEqual(['ALL']);
    expect(host.SecurityOpt).toEqual(['no-new-privileges']);
    expect(host.Privileged).toBe(false);
    expect(host.PidMode ?? '').toBe('');
    expect(host.Binds).toEqual([`${join(workRoot, `${job.id}-1`)}:/work`]);
    expect(host.Binds!.join(' ')).not.toContain('docker.sock');
    expect(info!.Config.Env).not.toContain('WORKER_SECRET=must-not-leak');
    expect(info!.Config.Labels).toMatchObject({
      [CONTAINER_LABELS.managed]: 'true',
      [CONTAINER_LABELS.jobId]: job.id,
      [CONTAINER_LABELS.attempt]: '1',
      [CONTAINER_LABELS.workerId]: worker!.workerId,
    });
    expect(await containersOf(job.id)).toEqual([]);
  });

  it('passes exactly the assigned GPUs by id (DeviceRequests)', { timeout: 60_000 }, async () => {
    if (!engine()) return;
    // The worker finds four GPUs through a fake nvidia-smi on its PATH.
    const path = process.env.PATH;
    process.env.PATH = `${await fakeNvidiaSmiDir()}:${path}`;
    const gpus = await detectGpus();
    process.env.PATH = path;
    expect(gpus.map((g) => g.index)).toEqual([0, 1, 2, 3]);
    startWorker({ gpus });
    const { job: first } = await parts.service.submit({ image, command: ['sh', '-c', 'nvidia-smi; sleep 2'], resources: { gpus: 1 } }, LOCAL_CALLER);
    await waitForJob(parts.store, first.id, (j) => j.state !== 'QUEUED', 30_000);
    const { job } = await parts.service.submit({ image, command: ['nvidia-smi'], resources: { gpus: 2 } }, LOCAL_CALLER);
    await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 30_000);
    const requests = (id: string) => inspectedFor(id)[0]?.HostConfig.DeviceRequests;
    expect(requests(first.id)).toEqual([{ Driver: 'nvidia', Count: 0, DeviceIDs: ['0'], Capabilities: [['gpu']], Options: null }]);
    // The second job gets two free GPUs, by id, and nothing else. Without an NVIDIA runtime here the
    // first container fails at once and may hand GPU 0 back before the second is placed; while
    // both attempts overlap, their GPUs never do.
    const [second] = requests(job.id) ?? [];
    expect(second).toMatchObject({ Driver: 'nvidia', Count: 0, Capabilities: [['gpu']], Options: null });
    const ids = second!.DeviceIDs as string[];
    expect(new Set(ids).size).toBe(2);
    for (const id of ids) expect(['0', '1', '2', '3']).toContain(id);
    const [firstDone, secondDone] = await Promise.all([parts.store.getJob(first.id), parts.store.getJob(job.id)]);
    const overlapped = Date.parse(firstDone!.attempts[0]!.finishedAt ?? '9999') > Date.parse(secondDone!.attempts[0]!.startedAt);
    if (overlapped) expect(ids).not.toContain('0');
    expect(await containersOf(job.id)).toEqual([]);
  });

  it('enforces the memory limit and says the attempt was killed for memory', { timeout: 60_000 }, async () => {
    if (!engine()) return;
    startWorker();
    const { job } = await parts.service.submit(
      { image, command: ['sh', '-c', 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo ${#x}'], resources: { memoryMiB: 32 } },
      LOCAL_CALLER,
    );
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 30_000);
    expect(done.state).toBe('FAILED');
    expect(done.reason).toMatch(/^out of memory: /);
  });

  it('cancel stops and removes the container', { timeout: 60_000 }, async () => {
    if (!engine()) return;
    startWorker();
    const { job } = await parts.service.submit({ image, command: ['sh', '-c', 'echo up; sleep 60'] }, LOCAL_CALLER);
    await waitForJob(parts.store, job.id, (j) => j.state === 'RUNNING', 30_000);
    while (!(await logs(job.id)).includes('up')) await new Promise((r) => setTimeout(r, 50));
    expect(await containersOf(job.id)).toHaveLength(1);
    await parts.service.cancel(job.id, LOCAL_CALLER);
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 30_000);
    expect(done.state).toBe('CANCELLED');
    expect(await containersOf(job.id)).toEqual([]);
  });

  it('timeout: SIGTERM, then SIGKILL when ignored, container removed, TIMED_OUT', { timeout: 60_000 }, async () => {
    if (!engine()) return;
    startWorker();
    const { job } = await parts.service.submit({ image, command: ['sh', '-c', 'trap "" TERM; echo up; while true; do sleep 1; done'], timeoutSeconds: 2 }, LOCAL_CALLER);
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 30_000);
    expect(done).toMatchObject({ state: 'TIMED_OUT', reason: 'timed out after 2 s' });
    expect(await containersOf(job.id)).toEqual([]);
  });

  it('a missing image ends the attempt with a reason naming it, and retries when retryOn says IMAGE_PULL', { timeout: 60_000 }, async () => {
    if (!engine()) return;
    startWorker();
    const missing = 'runplane-test/not-here:404';
    const { job } = await parts.service.submit(
      { image: missing, imagePullPolicy: 'Never', command: ['true'], maxAttempts: 2, retryOn: ['IMAGE_PULL'], retryDelaySeconds: 0 },
      LOCAL_CALLER,
    );
    const done = await waitForJob(parts.store, job.id, (j) => isTerminal(j.state), 30_000);
    expect(done).toMatchObject({ state: 'FAILED', attempt: 2 });
    expect(done.reason).toContain(`image ${missing} is not present`);
    expect(done.attempts[0]?.reason).toMatch(/retrying/);
  });

  it('no container is left after a SIGKILLed worker process restarts', { timeout: 90_000 }, async () => {
    if (!engine()) return;
    const { job } = await parts.service.submit({ image, command: ['sh', '-c', 'echo up; sleep 120'], maxAttempts: 1 }, LOCAL_CALLER);
    const child = spawn(process.execPath, ['bin/runplane.js', 'worker', '--queue', 'default'], {
      env: { ...process.env, ...runtimeConfigToEnv(runtimeConfigFor(env)), RUNPLANE_WORKER_CONTAINER_NETWORK: 'none' },
      stdio: 'ignore',
    });
    try {
      await waitForJob(parts.store, job.id, (j) => j.state === 'RUNNING', 30_000);
      while (!(await logs(job.id)).includes('up')) await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      // The dead worker's container runs on.
      expect((await containersOf(job.id))[0]?.State).toBe('running');
      const restarted = startWorker();
      await restarted.orphansRemoved;
      expect(await containersOf(job.id)).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
