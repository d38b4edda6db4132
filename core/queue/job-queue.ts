/** What the domain needs from a work queue: SQS semantics (at-least-once, visibility = lease). */
export interface JobMessage {
  readonly jobId: string;
}

export interface ReceivedJobMessage extends JobMessage {
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

export interface JobQueue {
  /** Throws UnknownQueueError for a pool with no queue. */
  enqueue(pool: string, message: JobMessage, options?: { delaySeconds?: number }): Promise<void>;
  receive(pool: string, options: ReceiveOptions): Promise<ReceivedJobMessage[]>;
  /** Deletes the delivery: the job's effect is recorded, SQS must not redeliver it. */
  ack(message: ReceivedJobMessage): Promise<void>;
  /** Keeps the delivery invisible for `seconds` more (heartbeat). */
  extendVisibility(message: ReceivedJobMessage, seconds: number): Promise<void>;
  /** Makes the delivery visible again after `delaySeconds` (0 = at once): a hand-back or a retry backoff. */
  release(message: ReceivedJobMessage, delaySeconds?: number): Promise<void>;
  readonly pools: readonly string[];
}
