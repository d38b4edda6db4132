import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';

/**
 * One link of the audit chain. `hash` is the hex SHA-256 of the RFC 8785 canonical JSON of the
 * entry without `hash`; `prevHash` is the previous entry's `hash` in the same chain (or the
 * chain's genesis hash for seq 1), so editing, removing, inserting or reordering an entry breaks
 * a link that anyone can recompute. See specs/04-audit-chain.md.
 */
export interface AuditEntry {
  /** Position in its chain, contiguous from 1. */
  readonly seq: number;
  /** ISO-8601 UTC time of the change, from the writer's clock. */
  readonly time: string;
  /** Who made the change: a caller's subject, `worker:<id>`, or `system:<task>`. */
  readonly actor: string;
  /** What was done, `<noun>.<verb>` (AUDIT_ACTIONS). */
  readonly action: string;
  /** What it was done to, `<kind>:<id>` (`job:01J...`, `apikey:...`). */
  readonly target: string;
  /** The facts of the change (from/to state, reason, attempt, ...); JSON, no secrets. */
  readonly details: Readonly<Record<string, unknown>>;
  readonly prevHash: string;
  readonly hash: string;
}

export type AuditEntryBody = Omit<AuditEntry, 'hash'>;

/** What a writer supplies; the chain adds seq, time, prevHash and hash. */
export interface AuditRecord {
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly details: Readonly<Record<string, unknown>>;
}

/**
 * The actions Runplane records. Job actions are written by the job store; the key and principal
 * actions are written by the API-key and identity stores through the same chain.
 */
export const AUDIT_ACTIONS = {
  jobSubmit: 'job.submit',
  /** QUEUED → CANCELLED at once. */
  jobCancel: 'job.cancel',
  /** A RUNNING job flagged for its worker to stop. */
  jobCancelRequest: 'job.cancel-request',
  /** A finished job queued again by a user. */
  jobRetry: 'job.retry',
  jobClaim: 'job.claim',
  /** RUNNING → a final state by the lease holder. */
  jobFinish: 'job.finish',
  /** RUNNING → QUEUED by the lease holder: a retry after a failed attempt, or a hand-back. */
  jobRequeue: 'job.requeue',
  /** An attempt whose lease expired ended by the reaper or by the worker that got its message back. */
  jobRecover: 'job.recover',
  jobDeadLetter: 'job.dead-letter',
  /** A QUEUED job's priority changed. */
  jobPriority: 'job.priority',
  /** An array parent's state following its children's counts (started, finished, reopened). */
  jobArrayProgress: 'job.array-progress',
  /** A QUEUED job held for its dependencies made runnable: they are all satisfied. */
  jobReleaseHold: 'job.release-hold',
  /** A QUEUED job held for its dependencies → FAILED: one can never be satisfied. */
  jobDependencyFailed: 'job.dependency-failed',
  apiKeyCreate: 'apikey.create',
  apiKeyRevoke: 'apikey.revoke',
  principalRoleChange: 'principal.role-change',
  principalGroupChange: 'principal.group-change',
  /** A group's quotas or fair-share weight changed (details: from, to). */
  groupUpdate: 'group.update',
  /** Root chain only: the heads of every shard at one moment. */
  checkpoint: 'audit.checkpoint',
} as const;

/** A chain: one of the shards `0..n-1`, or the root chain of checkpoints. */
export type ChainId = number | 'root';

/** The last link of a chain as its head item records it; seq 0 = empty chain. */
export interface ChainHead {
  readonly chain: ChainId;
  readonly seq: number;
  readonly hash: string;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The hex SHA-256 of the canonical JSON of the entry without `hash` (any `hash` given is ignored). */
export function hashEntry(entry: AuditEntryBody | AuditEntry): string {
  const { seq, time, actor, action, target, details, prevHash } = entry;
  return sha256Hex(canonicalJson({ seq, time, actor, action, target, details, prevHash }));
}

/**
 * The `prevHash` of a chain's first entry. Distinct per chain, so an entry cannot be moved to the
 * start of another shard and still link.
 */
export function genesisHash(chain: ChainId): string {
  return sha256Hex(canonicalJson({ chain: 'runplane-audit', shard: chain === 'root' ? 'root' : String(chain) }));
}

export function emptyHead(chain: ChainId): ChainHead {
  return { chain, seq: 0, hash: genesisHash(chain) };
}

/** The next entry after `head` for `record`, hashed. */
export function nextEntry(head: ChainHead, record: AuditRecord, time: Date): AuditEntry {
  const body: AuditEntryBody = {
    seq: head.seq + 1,
    time: time.toISOString(),
    actor: record.actor,
    action: record.action,
    target: record.target,
    details: record.details,
    prevHash: head.hash,
  };
  return { ...body, hash: hashEntry(body) };
}
