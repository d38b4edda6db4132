import type { Job } from './job.ts';
import { sumUsage } from '../usage/usage.ts';
import { waitingFor, type Waiting } from './waiting-reason.ts';

/**
 * The public JSON shape of a job (API and CLI). Leases stay internal. `waiting` is what
 * JobService.waitingOf found; without it a QUEUED job's is derived from the job alone.
 */
export function jobView(job: Job, waiting?: Waiting | null) {
  return {
    id: job.id,
    name: job.name,
    group: job.group,
    owner: job.owner,
    state: job.state,
    queue: job.queue,
    command: job.command,
    env: job.env,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    retryOn: job.retryOn,
    retryDelaySeconds: job.retryDelaySeconds,
    retryAt: job.retryAt,
    exitCode: job.exitCode,
    reason: job.reason,
    reasonCode: job.reasonCode,
    dependsOn: job.dependsOn,
    hold: job.hold,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    timeoutSeconds: job.timeoutSeconds,
    resources: job.resources,
    priority: job.priority,
    waiting: waiting === undefined ? waitingFor(job, { now: new Date() }) : waiting,
    image: job.image,
    imagePullPolicy: job.imagePullPolicy,
    labels: job.labels,
    workdir: job.workdir,
    artifacts: job.artifacts,
    cancelRequested: job.cancelRequested,
    cancelRequestedBy: job.cancelRequestedBy,
    attempts: job.attempts,
    history: job.history,
    array: job.array ? { size: job.array.size, parallelism: job.array.parallelism } : null,
    arrayStatus: job.array ? job.array.status : null,
    arrayParent: job.arrayChild?.parentId ?? null,
    arrayIndex: job.arrayChild?.index ?? null,
    /** Sum over the attempts that recorded usage; null before any attempt ended. */
    usage: sumUsage(job.attempts.map((a) => a.usage)),
  };
}
export type JobView = ReturnType<typeof jobView>;
