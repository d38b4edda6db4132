import type { RuntimeConfig } from '../config.ts';
import { SqsJobQueue } from '../queue/sqs-job-queue.ts';
import type { ApiDependencyOptions } from './api-dependencies.ts';
import type { ClientsOptions } from './clients.ts';
import { createSqsClientFor } from './sqs-clients.ts';

/** The pools' queues as one JobQueue, for code that sends messages. */
export function createJobQueue(config: RuntimeConfig, options: ClientsOptions = {}): SqsJobQueue {
  const sqs = createSqsClientFor(config, options);
  return new SqsJobQueue({ client: sqs, queueUrls: Object.fromEntries(config.queues.map((q) => [q.pool, q.url])) });
}

/**
 * What the submit and retry routes add: a queue to send on. Nothing else: scale-out is off the
 * request path (the scheduled scaler reads each queue's backlog; specs/05-reliability.md), so a
 * submit is one transaction and one SendMessage.
 */
export function dispatchDependencies(config: RuntimeConfig): Omit<ApiDependencyOptions, 'clock'> {
  return { queue: createJobQueue(config) };
}
