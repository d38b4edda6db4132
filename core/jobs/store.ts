import type { Job, JobState } from './job.ts';

export interface ListJobsQuery {
  readonly group: string;
  readonly state?: JobState;
  readonly queue?: string;
  readonly limit: number;
  readonly cursor?: string;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
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
}

export type FinalState = 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';

export interface FinishRequest {
  readonly jobId: string;
  readonly group: string;
  readonly leaseId: string;
  readonly attempt: number;
  readonly to: FinalState;
  readonly exitCode: number | null;
  readonly reason: string;
  readonly now: Date;
}

/**
 * What the domain needs from job storage. Every method that changes state is one conditional
 * write: it either applies in full or throws a domain error describing what it found
 * (`JobNotFoundError`, `JobNotInStateError`, `LeaseLostError`). Callers never read-then-write.
 */
export interface JobStore {
  /** Stores a new QUEUED job; throws if the id exists. */
  createJob(job: Job): Promise<void>;
  /** Strongly consistent read. */
  getJob(jobId: string): Promise<Job | undefined>;
  /** Newest first, within one group, served by a GSI query. Throws ValidationError on a bad cursor. */
  listJobs(query: ListJobsQuery): Promise<Page<Job>>;
  /** Jobs of one queue waiting to run, oldest first, across groups (sparse GSI): for re-enqueue and sweeping. */
  listQueuedJobs(queue: string, limit: number, cursor?: string): Promise<Page<Job>>;
  /** QUEUED → RUNNING as attempt n+1 under a new lease, unless a cancel was requested. */
  claimAttempt(request: ClaimRequest): Promise<Job>;
  /** Extends the lease the caller holds; returns the job so the caller sees cancel requests. */
  renewLease(jobId: string, leaseId: string, leaseExpiresAt: number): Promise<Job>;
  /** RUNNING → a final state, fenced by the lease. */
  finishAttempt(request: FinishRequest): Promise<Job>;
  /** RUNNING → QUEUED, fenced by the lease: a stopping worker hands the job back for another to run. */
  releaseAttempt(request: Omit<FinishRequest, 'to' | 'exitCode'>): Promise<Job>;
  /** QUEUED → CANCELLED at once; RUNNING → cancel requested (the worker ends it). */
  requestCancel(jobId: string, actor: string, now: Date): Promise<Job>;
}
