import { createHash } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { dependencyFailure } from '../aws/errors.ts';
import { UnknownQueueError } from '../errors.ts';
import { InboxGoneError, type EnqueueOptions, type InboxListing, type JobMessage, type JobQueue, type ReceiveOptions, type ReceivedJobMessage } from './job-queue.ts';

export interface SqsJobQueueOptions {
  readonly client: SQSClient;
  /** Pool name → queue URL, from the runtime configuration. */
  readonly queueUrls: Readonly<Record<string, string>>;
}

/** SQS caps visibility at 12 h; a message body must be JSON `{"jobId": ...}`. */
const MAX_VISIBILITY_SECONDS = 12 * 3600;
/** An inbox is named `<pool's queue>-inbox-<hash of the worker id>` (SQS names: 80 characters at most). */
const INBOX_INFIX = '-inbox-';
/** What an inbox copies from its pool's queue, so its messages live, hide and dead-letter the same way. */
const INBOX_ATTRIBUTES = ['VisibilityTimeout', 'MessageRetentionPeriod', 'RedrivePolicy'] as const;

export class SqsJobQueue implements JobQueue {
  private readonly client: SQSClient;
  private readonly queueUrls: Readonly<Record<string, string>>;
  /** Inboxes this adapter opened: the only ones it receives from. */
  private readonly inboxes = new Set<string>();

  constructor(options: SqsJobQueueOptions) {
    this.client = options.client;
    this.queueUrls = options.queueUrls;
  }

  async openInbox(pool: string, workerId: string): Promise<string> {
    const poolUrl = this.urlOf(pool);
    const name = `${poolUrl.slice(poolUrl.lastIndexOf('/') + 1)}${INBOX_INFIX}${createHash('sha256').update(workerId).digest('hex').slice(0, 16)}`;
    try {
      const attrs = await this.client.send(new GetQueueAttributesCommand({ QueueUrl: poolUrl, AttributeNames: [...INBOX_ATTRIBUTES] }));
      const Attributes = Object.fromEntries(INBOX_ATTRIBUTES.flatMap((a) => (attrs.Attributes?.[a] ? [[a, attrs.Attributes[a]]] : [])));
      const out = await this.client.send(new CreateQueueCommand({ QueueName: name, Attributes }));
      const inbox = out.QueueUrl!;
      this.inboxes.add(inbox);
      return inbox;
    } catch (err) {
      throw dependencyFailure('job queue', err);
    }
  }

  async closeInbox(inbox: string): Promise<void> {
    if (!this.inboxes.delete(inbox)) return;
    await this.deleteQueue(inbox);
  }

  async listInboxes(pool: string): Promise<InboxListing[]> {
    const poolUrl = this.urlOf(pool);
    const prefix = `${poolUrl}${INBOX_INFIX}`;
    const urls: string[] = [];
    try {
      let NextToken: string | undefined;
      do {
        const out = await this.client.send(new ListQueuesCommand({ QueueNamePrefix: prefix.slice(prefix.lastIndexOf('/') + 1), MaxResults: 1000, ...(NextToken ? { NextToken } : {}) }));
        urls.push(...(out.QueueUrls ?? []).filter((url) => url.startsWith(prefix)));
        NextToken = out.NextToken;
      } while (NextToken);
    } catch (err) {
      throw dependencyFailure('job queue', err);
    }
    const listed = await Promise.all(
      urls.map(async (address) => {
        try {
          const out = await this.client.send(new GetQueueAttributesCommand({ QueueUrl: address, AttributeNames: ['CreatedTimestamp'] }));
          // Seconds since the epoch.
          return { address, createdAt: new Date(Number(out.Attributes?.CreatedTimestamp ?? 0) * 1000) };
        } catch (err) {
          if (isQueueGone(err)) return undefined; // deleted since the listing (its worker stopped)
          throw dependencyFailure('job queue', err);
        }
      }),
    );
    return listed.filter((l): l is InboxListing => l !== undefined);
  }

  async deleteInbox(pool: string, inbox: string): Promise<void> {
    const address = this.inboxOf(pool, inbox);
    this.inboxes.delete(address);
    await this.deleteQueue(address);
  }

  /** Deletes a queue; one already gone (a sweep and its worker's stop both deleting it) is done. */
  private async deleteQueue(url: string): Promise<void> {
    try {
      await this.client.send(new DeleteQueueCommand({ QueueUrl: url }));
    } catch (err) {
      if (isQueueGone(err)) return;
      throw dependencyFailure('job queue', err);
    }
  }

  get pools(): readonly string[] {
    return Object.keys(this.queueUrls);
  }

  async enqueue(pool: string, message: JobMessage, options: EnqueueOptions = {}): Promise<void> {
    const QueueUrl = options.inbox === undefined ? this.urlOf(pool) : this.inboxOf(pool, options.inbox);
    try {
      await this.client.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody: JSON.stringify({ jobId: message.jobId }),
          // SQS standard queues allow at most 15 minutes of delay.
          ...(options.delaySeconds ? { DelaySeconds: Math.min(900, Math.max(0, Math.round(options.delaySeconds))) } : {}),
        }),
      );
    } catch (err) {
      throw dependencyFailure('job queue', err);
    }
  }

  async receive(pool: string, options: ReceiveOptions): Promise<ReceivedJobMessage[]> {
    const QueueUrl = this.urlOf(pool);
    let out;
    try {
      out = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl,
          MaxNumberOfMessages: Math.min(10, Math.max(1, options.maxMessages)),
          WaitTimeSeconds: Math.min(20, Math.max(0, options.waitSeconds)),
          ...(options.visibilityTimeoutSeconds !== undefined
            ? { VisibilityTimeout: options.visibilityTimeoutSeconds }
            : {}),
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
        options.abortSignal ? { abortSignal: options.abortSignal } : {},
      );
    } catch (err) {
      if (options.abortSignal?.aborted) return [];
      if (this.inboxes.has(pool) && isQueueGone(err)) throw new InboxGoneError(pool, { cause: err });
      throw dependencyFailure('job queue', err);
    }
    const messages: ReceivedJobMessage[] = [];
    for (const m of out.Messages ?? []) {
      const jobId = parseBody(m.Body);
      if (!m.ReceiptHandle || !m.MessageId) continue;
      messages.push({
        pool,
        jobId: jobId ?? '',
        messageId: m.MessageId,
        receiptHandle: m.ReceiptHandle,
        receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? '1'),
      });
    }
    return messages;
  }

  async ack(message: ReceivedJobMessage): Promise<void> {
    try {
      await this.client.send(new DeleteMessageCommand({ QueueUrl: this.urlOf(message.pool), ReceiptHandle: message.receiptHandle }));
    } catch (err) {
      throw dependencyFailure('job queue', err);
    }
  }

  async extendVisibility(message: ReceivedJobMessage, seconds: number): Promise<void> {
    await this.changeVisibility(message, Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(seconds))));
  }

  async release(message: ReceivedJobMessage, delaySeconds = 0): Promise<void> {
    await this.changeVisibility(message, Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(delaySeconds))));
  }

  private async changeVisibility(message: ReceivedJobMessage, seconds: number): Promise<void> {
    try {
      await this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.urlOf(message.pool),
          ReceiptHandle: message.receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    } catch (err) {
      throw dependencyFailure('job queue', err);
    }
  }

  private urlOf(pool: string): string {
    const url = this.queueUrls[pool] ?? (this.inboxes.has(pool) ? pool : undefined);
    if (!url) throw new UnknownQueueError(pool, this.pools);
    return url;
  }

  /** An address from a registry record is used only if it names an inbox of that pool's queue. */
  private inboxOf(pool: string, inbox: string): string {
    if (!inbox.startsWith(`${this.urlOf(pool)}${INBOX_INFIX}`)) throw new UnknownQueueError(inbox, this.pools);
    return inbox;
  }
}

/**
 * SQS's "no such queue": `QueueDoesNotExist` under the JSON protocol, its query-compatible code
 * `AWS.SimpleQueueService.NonExistentQueue` under the query protocol (and in the error's `Code`).
 */
function isQueueGone(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { Code?: unknown }).Code;
  return [err.name, code].some((c) => c === 'QueueDoesNotExist' || c === 'AWS.SimpleQueueService.NonExistentQueue');
}

/** A body we cannot parse yields '' so the worker can dead-letter it instead of crashing. */
function parseBody(body: string | undefined): string | undefined {
  try {
    const parsed = JSON.parse(body ?? '') as unknown;
    if (parsed && typeof parsed === 'object' && typeof (parsed as { jobId?: unknown }).jobId === 'string') {
      return (parsed as { jobId: string }).jobId;
    }
  } catch {
    // fall through
  }
  return undefined;
}
