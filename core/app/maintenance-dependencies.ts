import type { RuntimeConfig } from '../config.ts';
import { SqsJobQueue } from '../queue/sqs-job-queue.ts';
import { createApiDependencies } from './api-dependencies.ts';
import { createWorkerDependencies } from './worker-dependencies.ts';
import type { MaintenanceDependencies } from '../maintenance/maintenance.ts';
import type { JobAdmission } from '../jobs/job-admission.ts';
import { createSqsClientFor } from './sqs-clients.ts';

/**
 * The sweeper, reaper and dead-letter handler's view of a deployment. `admission`: the scheduler
 * that runs in this process (the local platform), so what the sweep makes runnable goes through it.
 */
export function createMaintenanceDependencies(config: RuntimeConfig, options: { readonly admission?: JobAdmission } = {}): MaintenanceDependencies & { deadLetters: SqsJobQueue } {
  const { store, queue } = createWorkerDependencies(config, options);
  const { jobs } = createApiDependencies(config, { queue, ...options });
  const sqs = createSqsClientFor(config);
  // Each pool's DLQ addressed by the pool's name, so the same queue adapter reads dead letters.
  const deadLetters = new SqsJobQueue({ client: sqs, queueUrls: Object.fromEntries(config.queues.map((q) => [q.pool, q.deadLetterUrl])) });
  return { store, queue, jobs, deadLetters };
}
