import type { OutputArchiveRecord } from '../events/log-archive.ts';
import type { Hold } from './dependencies.ts';
import type { Holding, Job, JobState } from './job.ts';
import type { ArrayTransitionName } from './state-machine.ts';
import type { CostRate } from '../usage/usage.ts';
import type { UsageRecord } from '../usage/usage-record.ts';

export interface ListJobsQuery {
  readonly group: string;
  readonly state?: JobState;
  readonly queue?: string;
  readonly limit: number;
  readonly cursor?: string;
}

export interface ListChildrenQuery {
  readonly parentId: string;
  /** Only children in one of these states (a filter: a page may hold fewer than `limit`). */
  readonly states?: readonly JobState[];
  readonly limit: number;
  readonly cursor?: string;
}

/** A change of an array parent's state (core/jobs/array-progress.ts decides which). */
export interface ArrayParentTransition {
  readonly name: ArrayTransitionName;
  readonly to: JobState;
  readonly actor: string;
  readonly now: Date;
  readonly reason?: string;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

/** An idempotency guard written in the same transaction as the job it protects. */
export interface IdempotencyGuard {
  /** Already scoped to the caller (see JobService), so two users' keys never collide. */
  readonly key: string;
  /** SHA-256 of the canonical request body: same key + same body = same job. */
  readonly requestHash: string;
  /** Epoch seconds; DynamoDB's TTL removes the guard afterwards, and an expired guard may be reused. */
  readonly expiresAt: number;
}

/** A pending job as the pending index projects it: what the scheduler decides with. */
export interface PendingJobSummary {
  readonly id: string;
  readonly group: string;
  readonly priority: number;
  readonly gpus: number;
  readonly attempt: number;
  /** A retry's backoff end (ISO), or null. */
  readonly retryAt: string | null;
  /** A child of an array with a parallelism: its parent and at most how many of its children run at once. */
  readonly arrayThrottle?: { readonly parentId: string; readonly parallelism: number };
}

export interface CreateJobResult {
  readonly job: Job;
  /** False when the idempotency key had already created this job. */
  readonly created: boolean;
}

export interface ClaimRequest {
  readonly jobId: string;
  /** The job's group: GSI keys that follow the state embed it. */
  readonly group: string;
  readonly workerId: string;
  readonly leaseId: string;
  readonly leaseExpiresAt: number;
  /** The attempt count the caller read; the claim fails if another claim got there first. */
  readonly expectedAttempt: number;
  readonly now: Date;
  /** Who claims, for the audit entry; `worker:<workerId>` when omitted. */
  readonly actor?: string;
  /**
   * The job as the claimer read it, for the capacity counters the claim takes (a group's quota, an
   * array's parallelism); read by the store when omitted.
   */
  readonly job?: Job;
  /** The price the attempt is charged at (its worker's instance), kept on the attempt record. */
  readonly costRate?: CostRate;
}

/** What readAttemptStatus returns. */
export interface AttemptStatus {
  readonly state: JobState;
  readonly attempt: number;
  readonly leaseId: string | null;
  readonly cancelRequested: boolean;
  readonly cancelRequestedBy: string | null;
  /** Epoch ms until which someone follows the output (Job.outputWatchedUntil), or null. */
  readonly outputWatchedUntil: number | null;
}

export type FinalState = 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';

/** Identifies the attempt a worker-side write belongs to. */
export interface AttemptFence {
  readonly jobId: string;
  readonly group: string;
  readonly leaseId: string;
  readonly attempt: number;
  /**
   * Set by recovery (reaper, or a worker finding a dead worker's job): the write applies only if
   * that lease expired before this epoch-ms instant, so a live attempt is never taken over.
   */
  readonly expiredBefore?: number;
  readonly now: Date;
  /**
   * Who writes, for the audit entry: `worker:<id>` for the lease holder or a worker recovering a
   * lost attempt, `system:reaper` for the reaper. `lease:<leaseId>` when omitted.
   */
  readonly actor?: string;
  /**
   * What the attempt's claim took from capacity counters (the claimed job's `holdings`), given back
   * in the same write; read by the store when omitted.
   */
  readonly holdings?: readonly Holding[];
}

export interface FinishRequest extends AttemptFence {
  readonly to: FinalState;
  readonly exitCode: number | null;
  readonly reason: string;
  /** The attempt's archived output, recorded on its attempt record in the same write. */
  readonly logArchive?: OutputArchiveRecord;
  /** The attempt's usage: on its attempt record and as a usage record, in the same transaction. */
  readonly usage?: UsageRecord;
}

export interface RequeueRequest extends AttemptFence {
  readonly exitCode: number | null;
  readonly reason: string;
  /** End of the retry backoff (ISO), or null for a hand-back that may run at once. */
  readonly retryAt: string | null;
  readonly logArchive?: OutputArchiveRecord;
  readonly usage?: UsageRecord;
}

/**
 * What the domain needs from job storage. Every method that changes state is one transaction: the
 * conditional write plus its audit entry (specs/04-audit-chain.md), applied in full or not at all.
 * When the change does not apply it throws a domain error describing what it found
 * (`JobNotFoundError`, `JobNotInStateError`, `LeaseLostError`, `IdempotencyKeyReusedError`) and
 * leaves no audit entry. `markDispatched` and `renewLease` are bookkeeping, not changes of record,
 * and are not audited; `readAttemptStatus` only reads.
 */
export interface JobStore {
  /**
   * Stores a new QUEUED job (undispatched), atomically with its idempotency guard when given. The
   * audit entry names the job's owner as the actor.
   */
  createJob(job: Job, guard?: IdempotencyGuard): Promise<CreateJobResult>;
  /** Records that the job's message was sent. */
  markDispatched(jobId: string): Promise<void>;
  /**
   * Pending → admitted (the scheduler's decision; its message is sent next). False when the job is
   * no longer pending at that attempt (admitted by a concurrent pass, claimed, cancelled).
   */
  admitJob(job: Pick<Job, 'id' | 'attempt'>, now: Date, workerId?: string): Promise<boolean>;
  /**
   * Admitted → pending again: a worker that received the job cannot run it now (no fit, a capacity
   * counter refused its claim). False when the job moved on meanwhile.
   */
  unadmitJob(job: Pick<Job, 'id' | 'attempt' | 'group' | 'priority'>): Promise<boolean>;
  /** A QUEUED job's new priority (audited); its place on the pending list moves with it. */
  setPriority(jobId: string, priority: number, actor: string, now: Date): Promise<Job>;
  /**
   * The first `perGroup` pending jobs of each group with pending work on `queue`, in each group's
   * order (priority, then submit order), without reading any other pending job.
   */
  listPendingHeads(queue: string, perGroup: number): Promise<Map<string, PendingJobSummary[]>>;
  /** Jobs of one queue admitted and not claimed yet, oldest first (the scheduler's promised capacity). */
  listAdmittedJobs(queue: string, limit: number, cursor?: string): Promise<Page<Job>>;
  /** Strongly consistent read. */
  getJob(jobId: string): Promise<Job | undefined>;
  /** Newest first, within one group, served by a GSI query. Throws ValidationError on a bad cursor. */
  listJobs(query: ListJobsQuery): Promise<Page<Job>>;
  /** Jobs of one queue whose message is not known sent, oldest first: the dispatch sweeper's list. */
  listUndispatchedJobs(queue: string, limit: number, cursor?: string): Promise<Page<Job>>;
  /** Jobs of one queue running under a lease: the reaper's list. */
  listRunningJobs(queue: string, limit: number, cursor?: string): Promise<Page<Job>>;
  /**
   * Jobs of one queue that hold its capacity: RUNNING, or admitted and not claimed yet (one list,
   * so a claim between two reads can neither hide a job nor show it twice). The scheduler's count.
   */
  listHoldings(queue: string, limit: number, cursor?: string): Promise<Page<Job>>;
  /** QUEUED → RUNNING as attempt n+1 under a new lease, unless a cancel was requested. */
  claimAttempt(request: ClaimRequest): Promise<Job>;
  /** Extends the lease the caller holds; returns the job so the caller sees cancel requests. */
  renewLease(jobId: string, leaseId: string, leaseExpiresAt: number): Promise<Job>;
  /**
   * The job's state, lease and cancel request, read cheaply and possibly a moment stale (an
   * eventually consistent read of a few attributes): what a running attempt polls between lease
   * renewals. Never proof that a lease is lost: confirm with renewLease, which is fenced.
   */
  readAttemptStatus(jobId: string): Promise<AttemptStatus | undefined>;
  /**
   * Records that someone follows the job's output until `untilMs` (epoch ms), while the job is
   * QUEUED or RUNNING; false when it is neither (or gone). Bookkeeping, not audited.
   */
  markOutputWatched(jobId: string, untilMs: number): Promise<boolean>;
  /** RUNNING → a final state, fenced by the lease. */
  finishAttempt(request: FinishRequest): Promise<Job>;
  /**
   * RUNNING → QUEUED, fenced by the lease: a retry after a failed attempt, or a hand-back by a
   * stopping worker. Refused (LeaseLostError with the lease still ours) when a cancel was requested.
   */
  requeueAttempt(request: RequeueRequest): Promise<Job>;
  /** QUEUED → CANCELLED at once; RUNNING → cancel requested (the worker ends it). */
  requestCancel(jobId: string, actor: string, now: Date): Promise<Job>;
  /**
   * A dead-lettered job → FAILED, when it is QUEUED or RUNNING under an expired lease (a live
   * attempt is left alone). The actor defaults to `system:dead-letter`.
   */
  failDeadLettered(job: Job, reason: string, now: Date, actor?: string): Promise<Job>;
  /**
   * A finished job → QUEUED (undispatched) for one more attempt: an explicit user retry. With a
   * guard, a replay (same key) returns the job as it is now instead of retrying again.
   */
  retryFinishedJob(job: Job, actor: string, now: Date, guard?: IdempotencyGuard): Promise<Job>;
  /**
   * Writes `children` (the next ones of the parent's array, from its cursor) with the cursor moved
   * past them, in one unaudited transaction conditional on the cursor the caller read and on no
   * cancel of the parent: false when another materialiser got there first or the parent was
   * cancelled. (The children's creation is the parent's audited submit; their transitions are audited.)
   */
  materialiseArrayChildren(parent: Job, children: readonly Job[]): Promise<boolean>;
  /**
   * An array parent's change of state, audited, conditional on the counts and cursor the caller read
   * (`arrayCounts`): JobNotInStateError when they moved since.
   */
  transitionArrayParent(parent: Job, change: ArrayParentTransition): Promise<Job>;
  /**
   * Cancels QUEUED children of a cancelled parent (at most 90) in one audited transaction, with one
   * move of the parent's counts, leaving out any that moved since they were read: the ids cancelled.
   */
  cancelQueuedChildren(parent: Job, children: readonly Job[], actor: string, now: Date): Promise<string[]>;
  /** Takes a cancelled parent whose children have all ended off the sweep's list; false if some have not. */
  retireArray(parent: Job): Promise<boolean>;
  /** Array parents of one queue with work left (materialising, running, or a cancel to finish): the sweep's list. */
  listActiveArrays(queue: string, limit: number, cursor?: string): Promise<Page<Job>>;
  /** The parent's materialised children in index order. */
  listArrayChildren(query: ListChildrenQuery): Promise<Page<Job>>;
  /**
   * Ids of the jobs that named `dependencyId` in their `dependsOn` (edge items recorded by
   * createJob before the job itself), in id order. A listed id may have no job: its create failed.
   */
  listDependents(dependencyId: string, limit: number, cursor?: string): Promise<Page<string>>;
  /** QUEUED jobs of one queue held for their dependencies, oldest first: the sweep's list. */
  listHeldJobs(queue: string, limit: number, cursor?: string): Promise<Page<Job>>;
  /**
   * A held job → runnable (QUEUED, undispatched: on the dispatch sweeper's list until a claim),
   * audited. Throws JobNotInStateError when it is no longer held (someone released or ended it).
   */
  releaseHold(job: Job, reason: string, actor: string, now: Date): Promise<Job>;
  /** A held job → FAILED with a reason code (DEPENDENCY_NEVER_SATISFIED), audited; JobNotInStateError when no longer held. */
  failHeldJob(job: Job, failure: { readonly code: string; readonly reason: string }, actor: string, now: Date): Promise<Job>;
  /** Rewrites what a held job waits for; a job no longer held is left alone (bookkeeping, not audited). */
  rewriteHold(jobId: string, hold: Hold): Promise<void>;
}
