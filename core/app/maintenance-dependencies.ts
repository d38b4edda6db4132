import type { RuntimeConfig } from '../config.ts';
import { SqsJobQueue } from '../queue/sqs-job-queue.ts';
import { createApiDependencies } from './api-dependencies.ts';
import { createWorkerDependencies } from './worker-dependencies.ts';
import type { MaintenanceDependencies } from '../maintenance/maintenance.ts';
import { createSqsClientFor } from './sqs-clients.ts';

/** The sweeper, reaper and dead-letter handler's view of a deployment. */
export function createMaintenanceDependencies(config: RuntimeConfig): MaintenanceDependencies & { deadLetters: SqsJobQueue } {
  const { store, queue } = createWorkerDependencies(config);
  const { jobs } = createApiDependencies(config, { queue });
  const sqs = createSqsClientFor(config);
  // Each pool's DLQ addressed by the pool's name, so the same queue adapter reads dead letters.
  const deadLetters = new SqsJobQueue({ client: sqs, queueUrls: Object.fromEntries(config.queues.map((q) => [q.pool, q.deadLetterUrl])) });
  return { store, queue, jobs, deadLetters };
}
