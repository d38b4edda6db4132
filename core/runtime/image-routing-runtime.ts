import type { JobRunSpec, JobRuntime, OrphanOwner, RunningJob, RuntimeIsolation } from './job-runtime.ts';

/**
 * The worker's one runtime: a job that names an image runs in a container, any other as a
 * (sandboxed) process. A worker without a container engine fails image jobs with a reason.
 */
export class ImageRoutingRuntime implements JobRuntime {
  readonly isolation: RuntimeIsolation;

  constructor(
    private readonly processes: JobRuntime,
    private readonly containers: JobRuntime | undefined,
  ) {
    // What a process job gets is the weaker guarantee, so it is what the worker reports as its kind.
    this.isolation = {
      kind: processes.isolation.kind,
      summary: `process jobs: ${processes.isolation.summary}; image jobs: ${containers ? containers.isolation.summary : 'not supported (no container engine reachable)'}`,
    };
  }

  start(spec: JobRunSpec): Promise<RunningJob> {
    if (!spec.image) return this.processes.start(spec);
    if (!this.containers) {
      const reason = `this worker has no container engine, so it cannot run image ${spec.image.reference}`;
      return Promise.resolve({
        pid: undefined,
        exited: Promise.resolve({ exitCode: null, signal: null, startError: reason, imageUnavailable: spec.image.reference }),
        stop: () => undefined,
      });
    }
    return this.containers.start(spec);
  }

  async removeOrphans(owner: OrphanOwner): Promise<number> {
    const counts = await Promise.all([this.processes.removeOrphans?.(owner) ?? 0, this.containers?.removeOrphans?.(owner) ?? 0]);
    return counts[0] + counts[1];
  }
}
