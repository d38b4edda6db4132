import Docker from 'dockerode';
import { ContainerRuntime, type ContainerNetwork } from '../runtime/container-runtime.ts';
import { detectProcessRuntime } from '../runtime/detect-process-runtime.ts';
import { ImageRoutingRuntime } from '../runtime/image-routing-runtime.ts';
import type { JobRuntime } from '../runtime/job-runtime.ts';

export interface WorkerRuntimeOptions {
  /** The platform's data directory and anything else no process job may see. */
  readonly hiddenPaths?: readonly string[];
  /** Container jobs' network mode (the pool's setting). */
  readonly containerNetwork?: ContainerNetwork;
  /** The Docker network `bridge` means (in AWS the job network; Docker's default bridge otherwise). */
  readonly bridgeNetwork?: string;
  /** The Docker Engine to use; by default DOCKER_HOST or /var/run/docker.sock, when it answers. */
  readonly docker?: Docker | null;
  readonly processMode?: 'auto' | 'none';
}

/** Builds the runtime a worker runs jobs with: the strongest process sandbox here, plus containers where an engine answers. */
export async function createWorkerRuntime(options: WorkerRuntimeOptions = {}): Promise<JobRuntime> {
  const processes = await detectProcessRuntime({ hiddenPaths: options.hiddenPaths ?? [], mode: options.processMode ?? 'auto' });
  const docker = options.docker === null ? undefined : (options.docker ?? new Docker());
  const reachable = docker
    ? await Promise.race([
        docker.ping().then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((r) => setTimeout(() => r(false), 3_000).unref()),
      ])
    : false;
  const containers = docker && reachable ? new ContainerRuntime({ docker, network: options.containerNetwork ?? 'bridge', ...(options.bridgeNetwork ? { bridgeNetwork: options.bridgeNetwork } : {}) }) : undefined;
  return new ImageRoutingRuntime(processes, containers);
}

/** RUNPLANE_WORKER_CONTAINER_NETWORK (set per pool by the stack): `bridge` unless it names another allowed mode. */
export function containerNetworkFromEnv(value: string | undefined): ContainerNetwork {
  if (value === undefined || value === '') return 'bridge';
  if (value === 'none' || value === 'bridge' || value === 'host') return value;
  throw new Error(`RUNPLANE_WORKER_CONTAINER_NETWORK must be none, bridge or host, not "${value}"`);
}
