import { canonicalJson } from '../audit/canonical-json.ts';
import { AUDIT_ACTIONS, sha256Hex, type AuditRecord } from '../audit/entry.ts';
import type { Job, JobState } from './job.ts';
import type { AttemptFence } from './store.ts';

/** The audit entries the job store writes with each change (pure; specs/04-audit-chain.md). */
export const jobTarget = (jobId: string) => `job:${jobId}`;

/**
 * A bounded stand-in for a large value in an audit entry: the value itself when its canonical
 * JSON fits `maxBytes`, else its SHA-256 and size (the job item keeps the value itself).
 */
function bounded(value: unknown, maxBytes: number): unknown {
  const json = canonicalJson(value);
  const bytes = Buffer.byteLength(json, 'utf8');
  return bytes <= maxBytes ? value : { sha256: sha256Hex(json), bytes };
}

/** What a submit records: the spec as run, minus env values (they may hold secrets). */
export function submitRecord(job: Job): AuditRecord {
  return {
    actor: job.owner,
    action: AUDIT_ACTIONS.jobSubmit,
    target: jobTarget(job.id),
    details: {
      group: job.group,
      queue: job.queue,
      name: job.name,
      command: bounded(job.command, 4096),
      envNames: bounded(Object.keys(job.env).sort(), 1024),
      resources: job.resources,
      // Which code ran: the archive's hash names its exact bytes.
      ...(job.workdir ? { workdir: job.workdir.archive } : {}),
      ...(job.artifacts.length > 0 ? { artifacts: job.artifacts } : {}),
      ...(job.image ? { image: job.image, imagePullPolicy: job.imagePullPolicy } : {}),
      labels: bounded(job.labels, 2048),
      timeoutSeconds: job.timeoutSeconds,
      maxAttempts: job.maxAttempts,
      // One entry creates the whole array: its children's creation is this submit.
      ...(job.array
        ? { array: { size: job.array.size, parallelism: job.array.parallelism, ...(job.array.indices ? { indices: bounded(job.array.indices, 2048) } : {}) } }
        : {}),
    },
  };
}

/**
 * The entry of a fenced write: by the lease holder (`job.finish` / `job.requeue`), or by recovery
 * of an expired lease (`job.recover`).
 */
export function fencedRecord(request: AttemptFence, to: JobState, facts: Record<string, unknown>): AuditRecord {
  const recovering = request.expiredBefore !== undefined;
  return {
    actor: request.actor ?? `lease:${request.leaseId}`,
    action: recovering ? AUDIT_ACTIONS.jobRecover : to === 'QUEUED' ? AUDIT_ACTIONS.jobRequeue : AUDIT_ACTIONS.jobFinish,
    target: jobTarget(request.jobId),
    details: { group: request.group, attempt: request.attempt, from: 'RUNNING', to, leaseId: request.leaseId, ...facts },
  };
}
