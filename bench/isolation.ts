/**
 * Isolation costs, as ratios measured in the same run (issue 9):
 * - sandboxStartRatio: start → first output byte of `true`-like job under the sandboxed process
 *   runtime (bubblewrap + slot uid + memory cgroup, as the local platform runs jobs) against a bare
 *   spawn (ProcessRuntime);
 * - containerStartRatio: the same for a container job from a cached image (ContainerRuntime,
 *   network none) against the bare spawn, and against the sandboxed process.
 * Measured at the runtime port (what the worker's dispatch adds on top is the same for all three).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { ContainerRuntime } from '../core/runtime/container-runtime.ts';
import { detectProcessRuntime } from '../core/runtime/detect-process-runtime.ts';
import type { JobRunSpec, JobRuntime } from '../core/runtime/job-runtime.ts';
import { ProcessRuntime } from '../core/runtime/process-runtime.ts';
import { ensureTestImage } from '../test/support/docker.ts';

async function startToOutputMs(runtime: JobRuntime, spec: Omit<JobRunSpec, 'onOutput' | 'whenWritable' | 'workDir'>, root: string, i: number) {
  const workDir = join(root, `${spec.jobId}-${i}`);
  const { mkdir } = await import('node:fs/promises');
  await mkdir(workDir, { mode: 0o700 });
  const t0 = performance.now();
  let first = 0;
  const job = await runtime.start({
    ...spec,
    attempt: i,
    workDir,
    onOutput: () => {
      first ||= performance.now();
      return true;
    },
    whenWritable: () => Promise.resolve(),
  });
  await job.exited;
  return (first || performance.now()) - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchIsolation(options: { runs: number }) {
  const root = await mkdtemp(join(tmpdir(), 'runplane-bench-isolation-'));
  try {
    const base = {
      jobId: 'bench',
      workerId: 'bench',
      pool: 'default',
      argv: ['sh', '-c', 'echo x'],
      env: { PATH: '/usr/bin:/bin' },
      gpuIndices: [],
      resources: { gpus: 0, cpu: 1, memoryMiB: 256 },
    };
    const bare = new ProcessRuntime();
    const sandbox = await detectProcessRuntime();
    const samples = { bare: [] as number[], sandbox: [] as number[], container: [] as number[] };
    const docker = new Docker();
    const engine = await docker.ping().then(() => true, () => false);
    const image = engine ? await ensureTestImage(docker) : undefined;
    const containers = engine ? new ContainerRuntime({ docker, network: 'none' }) : undefined;
    let n = 0;
    for (let i = 0; i < options.runs; i++) {
      samples.bare.push(await startToOutputMs(bare, { ...base, jobId: 'bare', attempt: 0 }, root, n++));
      samples.sandbox.push(await startToOutputMs(sandbox, { ...base, jobId: 'sandbox', attempt: 0 }, root, n++));
      if (containers && image && i < Math.min(options.runs, 10)) {
        samples.container.push(
          await startToOutputMs(containers, { ...base, jobId: 'container', attempt: 0, image: { reference: image, pullPolicy: 'Never' } }, root, n++),
        );
      }
    }
    const p50 = { bare: median(samples.bare), sandbox: median(samples.sandbox), container: engine ? median(samples.container) : null };
    return {
      isolation: sandbox.isolation.summary,
      p50Ms: p50,
      sandboxStartRatio: p50.sandbox / p50.bare,
      containerStartRatio: p50.container === null ? null : p50.container / p50.bare,
      containerVsSandboxRatio: p50.container === null ? null : p50.container / p50.sandbox,
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
