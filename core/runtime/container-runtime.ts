import { hostname } from 'node:os';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { JobExit, JobRunSpec, JobRuntime, OrphanOwner, RunningJob, RuntimeIsolation } from './job-runtime.ts';
import { ContainerStatsSampler } from './container-stats-sampler.ts';

export type ContainerNetwork = 'none' | 'bridge' | 'host';

export interface ContainerRuntimeOptions {
  /** A Docker Engine API client (dockerode), injected: the host's socket in AWS, the local engine here. */
  readonly docker: Docker;
  /** The pool's network mode: `bridge` in AWS; `none` keeps a job off every network. */
  readonly network: ContainerNetwork;
  /** The Docker network `bridge` stands for (default: Docker's own `bridge`). */
  readonly bridgeNetwork?: string;
  /** Where the attempt's directory appears inside the container. */
  readonly containerWorkDir?: string;
  /** Processes a job may have at once (a fork bomb stops there instead of taking the host). */
  readonly pidsLimit?: number;
}

/** Labels that mark a container as Runplane's and say which attempt owns it. */
export const CONTAINER_LABELS = {
  managed: 'dev.runplane.managed',
  jobId: 'dev.runplane.job-id',
  attempt: 'dev.runplane.attempt',
  workerId: 'dev.runplane.worker-id',
  pool: 'dev.runplane.pool',
  host: 'dev.runplane.host',
  workerPid: 'dev.runplane.worker-pid',
} as const;

const MiB = 1024 * 1024;

/**
 * Runs a job in a container of its own through the Docker Engine API: the attempt's directory
 * bind-mounted as the working directory, the job's env only, exactly the GPUs the worker assigned
 * (DeviceRequests), hard memory and CPU limits, no capabilities, no new privileges, its own PID
 * namespace, no Docker socket, the pool's network mode. Output is attached before the container
 * starts, so none is lost; the container is removed once its exit and output are read.
 */
export class ContainerRuntime implements JobRuntime {
  readonly isolation: RuntimeIsolation;
  private readonly o: ContainerRuntimeOptions;
  private readonly workDirInContainer: string;

  constructor(options: ContainerRuntimeOptions) {
    this.o = options;
    this.workDirInContainer = options.containerWorkDir ?? '/work';
    this.isolation = {
      kind: 'container',
      summary: `container per job (Docker; network ${options.network}; no capabilities, no-new-privileges, memory and CPU limits)`,
    };
  }

  async start(spec: JobRunSpec): Promise<RunningJob> {
    const image = spec.image?.reference;
    if (!image) return startFailed('no image given for a container job');
    const missing = await this.ensureImage(image, spec.image?.pullPolicy ?? 'IfNotPresent');
    if (missing) return startFailed(missing, image);

    const name = `runplane-${spec.jobId}-${spec.attempt}`.toLowerCase();
    let container: Docker.Container;
    try {
      container = await this.create(name, image, spec);
    } catch (err) {
      if (statusOf(err) !== 409) return startFailed(`could not create the container: ${messageOf(err)}`);
      // A container of this attempt left by a worker that died: it is not running anything we own.
      await this.o.docker.getContainer(name).remove({ force: true }).catch(() => undefined);
      try {
        container = await this.create(name, image, spec);
      } catch (again) {
        return startFailed(`could not create the container: ${messageOf(again)}`);
      }
    }

    const output = await this.attachOutput(container, spec);
    try {
      await container.start();
    } catch (err) {
      await container.remove({ force: true }).catch(() => undefined);
      return startFailed(`could not start the container: ${messageOf(err)}`);
    }
    const info = await container.inspect().catch(() => undefined);
    const sampler = new ContainerStatsSampler(container).start();
    const exited = this.waitForExit(container, output.done, sampler);
    return {
      pid: info?.State.Pid || undefined,
      exited,
      stop: (signal) => {
        container.kill({ signal }).catch(() => undefined);
      },
    };
  }

  /** Undefined when the image is there; otherwise why it is not (naming the image). */
  private async ensureImage(image: string, policy: 'IfNotPresent' | 'Always' | 'Never'): Promise<string | undefined> {
    const present = await this.o.docker
      .getImage(image)
      .inspect()
      .then(() => true)
      .catch(() => false);
    if (present && policy !== 'Always') return undefined;
    if (policy === 'Never') return `image ${image} is not present on this worker and imagePullPolicy is Never`;
    try {
      const stream = await this.o.docker.pull(image);
      await new Promise<void>((resolve, reject) =>
        this.o.docker.modem.followProgress(stream, (err: Error | null, events: { error?: string }[]) => {
          const failed = err ?? events.find((e) => e.error);
          if (failed) reject(new Error(failed instanceof Error ? failed.message : String(failed.error)));
          else resolve();
        }),
      );
      return undefined;
    } catch (err) {
      return `could not pull image ${image}: ${messageOf(err)}`;
    }
  }

  private create(name: string, image: string, spec: JobRunSpec): Promise<Docker.Container> {
    const env = { ...spec.env, RUNPLANE_WORKDIR: this.workDirInContainer };
    return this.o.docker.createContainer({
      name,
      Image: image,
      Cmd: [...spec.argv],
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      WorkingDir: this.workDirInContainer,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      OpenStdin: false,
      Labels: {
        [CONTAINER_LABELS.managed]: 'true',
        [CONTAINER_LABELS.jobId]: spec.jobId,
        [CONTAINER_LABELS.attempt]: String(spec.attempt),
        [CONTAINER_LABELS.workerId]: spec.workerId,
        [CONTAINER_LABELS.pool]: spec.pool,
        [CONTAINER_LABELS.host]: hostname(),
        [CONTAINER_LABELS.workerPid]: String(process.pid),
      },
      HostConfig: {
        Binds: [`${spec.workDir}:${this.workDirInContainer}`],
        NetworkMode: this.o.network === 'bridge' ? (this.o.bridgeNetwork ?? 'bridge') : this.o.network,
        Memory: spec.resources.memoryMiB * MiB,
        // Equal to Memory: no swap beyond the limit, so the limit is the limit.
        MemorySwap: spec.resources.memoryMiB * MiB,
        NanoCpus: Math.round(spec.resources.cpu * 1e9),
        PidsLimit: this.o.pidsLimit ?? 4096,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Privileged: false,
        IpcMode: 'private',
        // docker-init as PID 1 forwards our SIGTERM to the job and reaps what it leaves.
        Init: true,
        DeviceRequests:
          spec.gpuIndices.length > 0 ? [{ Driver: 'nvidia', DeviceIDs: spec.gpuIndices.map(String), Capabilities: [['gpu']] }] : [],
      },
    });
  }

  /** Attaches before start (nothing printed early is lost) and demultiplexes stdout/stderr with back-pressure. */
  private async attachOutput(container: Docker.Container, spec: JobRunSpec): Promise<{ done: Promise<void> }> {
    const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
    const pipe = (name: 'stdout' | 'stderr') => {
      const through = new PassThrough();
      through.on('data', (chunk: Buffer) => {
        if (!spec.onOutput(name, chunk)) {
          stream.pause();
          void spec.whenWritable().then(() => stream.resume());
        }
      });
      return through;
    };
    const stdout = pipe('stdout');
    const stderr = pipe('stderr');
    this.o.docker.modem.demuxStream(stream, stdout, stderr);
    const done = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
    return { done };
  }

  private async waitForExit(container: Docker.Container, outputDone: Promise<void>, sampler: ContainerStatsSampler): Promise<JobExit> {
    const status = await container.wait().then(
      (result: { StatusCode: number }) => result.StatusCode,
      () => null,
    );
    const resourceUse = await sampler.stop();
    await outputDone;
    const info = await container.inspect().catch(() => undefined);
    await container.remove({ force: true }).catch(() => undefined);
    const exitCode = info?.State.ExitCode ?? status;
    return {
      exitCode: exitCode ?? null,
      signal: null,
      ...(info?.State.OOMKilled ? { memoryExceeded: true } : {}),
      resourceUse,
    };
  }

  /**
   * Removes Runplane containers of this pool that no live attempt owns: this worker's that it no
   * longer runs, those of a dead worker process on this host, and those of workers that stopped
   * reporting. Returns how many were removed.
   */
  async removeOrphans(owner: OrphanOwner): Promise<number> {
    const containers = await this.o.docker.listContainers({
      all: true,
      filters: { label: [`${CONTAINER_LABELS.managed}=true`, `${CONTAINER_LABELS.pool}=${owner.pool}`] },
    });
    let removed = 0;
    for (const c of containers) {
      const labels = c.Labels;
      const orphan =
        labels[CONTAINER_LABELS.workerId] === owner.workerId
          ? !owner.liveJobs.has(labels[CONTAINER_LABELS.jobId] ?? '')
          : labels[CONTAINER_LABELS.host] === hostname()
            ? !processAlive(Number(labels[CONTAINER_LABELS.workerPid]))
            : !(await owner.isLiveWorker(labels[CONTAINER_LABELS.workerId] ?? ''));
      if (!orphan) continue;
      await this.o.docker.getContainer(c.Id).remove({ force: true }).then(
        () => removed++,
        () => undefined,
      );
    }
    return removed;
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function startFailed(reason: string, image?: string): Promise<RunningJob> {
  const exit: JobExit = { exitCode: null, signal: null, startError: reason, ...(image ? { imageUnavailable: image } : {}) };
  return Promise.resolve({ pid: undefined, exited: Promise.resolve(exit), stop: () => undefined });
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

function messageOf(err: unknown): string {
  const e = err as { json?: { message?: string }; message?: string };
  return e.json?.message ?? e.message ?? String(err);
}
