/**
 * Domain errors. Adapters translate SDK failures into these at their boundary, so the core and the
 * HTTP layer never inspect AWS exception names. Each carries a stable `code` clients can act on.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.details = details;
  }
}

export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

export class ValidationError extends DomainError {
  readonly code = 'INVALID_ARGUMENT';
  constructor(message: string, readonly issues: readonly FieldIssue[] = []) {
    super(message, issues.length > 0 ? { fields: issues } : {});
  }
}

export class JobNotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  constructor(readonly jobId: string) {
    super(`job ${jobId} not found`, { jobId });
  }
}

/** A conditional transition found the job in another state than the one it requires. */
export class JobNotInStateError extends DomainError {
  readonly code: string = 'JOB_NOT_IN_STATE';
  constructor(
    readonly jobId: string,
    readonly expected: readonly string[],
    readonly found: string | undefined,
    message = `job ${jobId} is ${found ?? 'missing'}, expected ${expected.join(' or ')}`,
  ) {
    super(message, { jobId, expected, found: found ?? null });
  }
}

export class NotCancellableError extends JobNotInStateError {
  override readonly code = 'NOT_CANCELLABLE';
  constructor(jobId: string, found: string) {
    super(jobId, ['QUEUED', 'RUNNING'], found, `job ${jobId} is already ${found} and cannot be cancelled`);
  }
}

/** The worker no longer holds the lease it writes under: a newer attempt or a reaper took over. */
export class LeaseLostError extends DomainError {
  readonly code = 'LEASE_LOST';
  constructor(
    readonly jobId: string,
    readonly leaseId: string,
    readonly found: { state?: string; leaseId?: string | null; attempt?: number; cancelRequested?: boolean },
  ) {
    super(`lease ${leaseId} on job ${jobId} is no longer held`, { jobId, found });
  }
}

export class UnknownQueueError extends DomainError {
  readonly code = 'INVALID_ARGUMENT';
  constructor(readonly queue: string, known: readonly string[]) {
    super(`queue "${queue}" does not exist`, { fields: [{ path: 'queue', message: `unknown queue; known: ${known.join(', ')}` }] });
  }
}

/** A storage or queue call failed for a reason the caller cannot fix (throttling exhausted, outage). */
export class DependencyError extends DomainError {
  readonly code = 'DEPENDENCY_UNAVAILABLE';
  constructor(readonly dependency: string, cause: unknown) {
    super(`${dependency} is unavailable`, {}, { cause });
  }
}

export class IdempotencyKeyReusedError extends DomainError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  constructor(readonly existingJobId: string) {
    super('this Idempotency-Key was already used with a different request body', { jobId: existingJobId });
  }
}

/** A download of an attempt's log archive before there is one (the attempt is still running, or archiving failed). */
export class LogNotArchivedError extends DomainError {
  readonly code = 'LOG_NOT_ARCHIVED';
  constructor(readonly jobId: string, readonly attempt: number) {
    super(`attempt ${attempt} of job ${jobId} has no log archive yet; it is written when the attempt ends`, { jobId, attempt });
  }
}

/**
 * A claim that a capacity counter refused (its group's quota, its array's parallelism is full):
 * the job stays QUEUED and waits, for the reason `waitingCode` names (a `waiting.code`).
 */
export class CapacityRefusedError extends DomainError {
  readonly code = 'CAPACITY_REFUSED';
  constructor(
    readonly jobId: string,
    readonly waitingCode: string,
    message: string,
  ) {
    super(message, { jobId, waitingCode });
  }
}
