import type { RuntimeConfig } from '../config.ts';
import { SqsJobQueue } from '../queue/sqs-job-queue.ts';
import { createApiDependencies } from './api-dependencies.ts';
import { createWorkerDependencies, type WorkerDependencyOptions } from './worker-dependencies.ts';
import type { MaintenanceDependencies } from '../maintenance/maintenance.ts';
import type { WorkerRegistry } from '../workers/registry.ts';
import { createSqsClientFor } from './sqs-clients.ts';
import { createSchedulerKick } from './scheduler-kick-dependencies.ts';

/**
 * The sweeper, reaper and dead-letter handler's view of a deployment. What they make runnable again
 * (a reaped attempt, an unclaimed admission) goes through the deployment's admission: the scheduler
 * kick in AWS, the platform's in-process scheduler locally (`admission`). The registry is the local
 * platform's stale-inbox sweep's (which workers are alive).
 */
export function createMaintenanceDependencies(
  config: RuntimeConfig,
  options: Pick<WorkerDependencyOptions, 'admission'> = {},
): MaintenanceDependencies & { deadLetters: SqsJobQueue; registry: WorkerRegistry } {
  const { store, queue, registry } = createWorkerDependencies(config, options);
  const admission = options.admission ?? createSchedulerKick(config, { store });
  const { jobs } = createApiDependencies(config, { queue, ...(admission ? { admission } : {}) });
  const sqs = createSqsClientFor(config);
  // Each pool's DLQ addressed by the pool's name, so the same queue adapter reads dead letters.
  const deadLetters = new SqsJobQueue({ client: sqs, queueUrls: Object.fromEntries(config.queues.map((q) => [q.pool, q.deadLetterUrl])) });
  return { store, queue, jobs, deadLetters, registry };
}
