/** What the domain needs from a work queue: SQS semantics (at-least-once, visibility = lease). */
export interface JobMessage {
  readonly jobId: string;
}

export interface ReceivedJobMessage extends JobMessage {
  /** The queue it came from: a pool, or a worker's inbox address (ack, extend and release go back there). */
  readonly pool: string;
  readonly messageId: string;
  /** Opaque handle for ack/extend/release of this delivery. */
  readonly receiptHandle: string;
  /** How many times SQS has delivered this message, this delivery included. */
  readonly receiveCount: number;
}

export interface ReceiveOptions {
  readonly maxMessages: number;
  /** Long-poll wait, 0..20 s. */
  readonly waitSeconds: number;
  readonly visibilityTimeoutSeconds?: number;
  readonly abortSignal?: AbortSignal;
}

export interface EnqueueOptions {
  readonly delaySeconds?: number;
  /**
   * A worker's inbox (openInbox) instead of the pool's queue: the scheduler sends a job it admitted
   * to that worker there (specs/11-scheduling.md, decision 12). Refused unless it is an inbox of `pool`.
   */
  readonly inbox?: string;
}

export interface JobQueue {
  /** Throws UnknownQueueError for a pool with no queue. */
  enqueue(pool: string, message: JobMessage, options?: EnqueueOptions): Promise<void>;
  /** `pool` is a pool's name or an inbox address this adapter opened. */
  receive(pool: string, options: ReceiveOptions): Promise<ReceivedJobMessage[]>;
  /** Deletes the delivery: the job's effect is recorded, SQS must not redeliver it. */
  ack(message: ReceivedJobMessage): Promise<void>;
  /** Keeps the delivery invisible for `seconds` more (heartbeat). */
  extendVisibility(message: ReceivedJobMessage, seconds: number): Promise<void>;
  /** Makes the delivery visible again after `delaySeconds` (0 = at once): a hand-back or a retry backoff. */
  release(message: ReceivedJobMessage, delaySeconds?: number): Promise<void>;
  readonly pools: readonly string[];
  /**
   * Opens a queue of the pool's kind (same visibility, retention and dead-letter queue) that only
   * `workerId` polls, and returns its address (for the worker's registry record). Absent: every
   * worker of a pool shares the pool's queue.
   */
  openInbox?(pool: string, workerId: string): Promise<string>;
  /** Deletes an inbox (its messages with it: the stopping worker hands their jobs back first). */
  closeInbox?(inbox: string): Promise<void>;
  /** Every inbox of `pool` that exists now, whoever opened it (the stale-inbox sweep's listing). */
  listInboxes?(pool: string): Promise<InboxListing[]>;
  /**
   * Deletes an inbox of `pool` that no live worker polls (a worker killed outright left it). Refused
   * unless it is an inbox of that pool's queue; one already gone is no error.
   */
  deleteInbox?(pool: string, inbox: string): Promise<void>;
}

/** An inbox as listed: its address and when it was created. */
export interface InboxListing {
  readonly address: string;
  readonly createdAt: Date;
}

/**
 * A receive from an inbox this adapter opened found it deleted (the stale-inbox sweep took it
 * while its worker stalled past the sweep's window, or someone deleted it by hand). Its worker
 * opens it again or polls the pool's shared queue; the jobs sent there are the admission
 * sweeper's (they stay admitted until its grace puts them back on the pending list).
 */
export class InboxGoneError extends Error {
  constructor(readonly inbox: string, options?: { cause?: unknown }) {
    super(`inbox ${inbox} no longer exists`, options);
    this.name = 'InboxGoneError';
  }
}
