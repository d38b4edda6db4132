import { spawnJobProcess } from './process-runner.ts';
import type { JobRunSpec, JobRuntime, RunningJob } from './job-runtime.ts';
import { processTree } from './process-tree.ts';
import { ProcessTreeSampler } from './process-tree-sampler.ts';

/**
 * Runs a job as a plain child process of the worker, in its own process group. It isolates
 * nothing: the job has the worker's identity. The baseline the sandboxed runtimes are measured against.
 */
export class ProcessRuntime implements JobRuntime {
  readonly isolation = {
    kind: 'none',
    summary: "no sandbox: jobs run as the worker's own user and can read what it reads",
  } as const;

  start(spec: JobRunSpec): Promise<RunningJob> {
    const child = spawnJobProcess({
      argv: spec.argv,
      env: { ...spec.env },
      cwd: spec.workDir,
      onOutput: spec.onOutput,
      whenWritable: spec.whenWritable,
    });
    const root = child.pid;
    // No cgroup of its own: what the job used is sampled from /proc.
    const sampler = root === undefined ? undefined : new ProcessTreeSampler(() => processTree(root)).start();
    return Promise.resolve({
      pid: child.pid,
      exited: child.exited.then(async (exit) => ({
        exitCode: exit.exitCode,
        signal: exit.signal,
        ...(exit.spawnError !== undefined ? { startError: exit.spawnError } : { ...(sampler ? { resourceUse: await sampler.stop() } : {}) }),
      })),
      stop: (signal) => child.signal(signal),
    });
  }
}
