import type { RuntimeConfig } from '../config.ts';
import { SqsJobQueue } from '../queue/sqs-job-queue.ts';
import type { ApiDependencyOptions } from './api-dependencies.ts';
import type { ClientsOptions } from './clients.ts';
import { createSqsClientFor } from './sqs-clients.ts';
import { createSchedulerKick } from './scheduler-kick-dependencies.ts';

/** The pools' queues as one JobQueue, for code that sends messages. */
export function createJobQueue(config: RuntimeConfig, options: ClientsOptions = {}): SqsJobQueue {
  const sqs = createSqsClientFor(config, options);
  return new SqsJobQueue({ client: sqs, queueUrls: Object.fromEntries(config.queues.map((q) => [q.pool, q.url])) });
}

/**
 * What the routes that make jobs runnable (submit, retry, cancel, update) add: a queue to send on
 * and, in a deployment with a scheduler (RUNPLANE_SCHEDULER_QUEUE_URL), the kick that asks it for
 * a pass, so a runnable job is admitted only when capacity allows (specs/11-scheduling.md).
 * Nothing else: scale-out is off the request path (the scheduled scaler counts each pool's pending
 * jobs and backlog), so a submit is one transaction and one SendMessage.
 */
export function dispatchDependencies(config: RuntimeConfig): Omit<ApiDependencyOptions, 'clock'> {
  const admission = createSchedulerKick(config);
  return { queue: createJobQueue(config), ...(admission ? { admission } : {}) };
}
