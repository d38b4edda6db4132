import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { dependencyFailure } from '../aws/errors.ts';
import { UnknownQueueError } from '../errors.ts';
import type { JobMessage, JobQueue, ReceiveOptions, ReceivedJobMessage } from './job-queue.ts';

export interface SqsJobQueueOptions {
  readonly client: SQSClient;
  /** Pool name → queue URL, from the runtime configuration. */
  readonly queueUrls: Readonly<Record<string, string>>;
}

/** SQS caps visibility at 12 h; a message body must be JSON `{"jobId": ...}`. */
const MAX_VISIBILITY_SECONDS = 12 * 3600;

export class SqsJobQueue implements JobQueue {
  private readonly client: SQSClient;
  private readonly queueUrls: Readonly<Record<string, string>>;

  constructor(options: SqsJobQueueOptions) {
    this.client = options.client;
    this.queueUrls = options.queueUrls;
  }

  get pools(): readonly string[] {
    return Object.keys(this.queueUrls);
  }

  async enqueue(pool: string, message: JobMessage, options: { delaySeconds?: number } = {}): Promise<void> {
    const QueueUrl = this.urlOf(pool);
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
    const url = this.queueUrls[pool];
    if (!url) throw new UnknownQueueError(pool, this.pools);
    return url;
  }
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
