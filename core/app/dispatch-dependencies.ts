import { createSqsClient } from '../aws/sqs-client.ts';
import type { RuntimeConfig } from '../config.ts';
import { SqsJobQueue } from '../queue/sqs-job-queue.ts';
import { workerScalerFromEnv } from '../scaling/ecs-scaler.ts';
import { jsonLogger } from '../http/api-handler.ts';
import type { ApiDependencyOptions } from './api-dependencies.ts';

/** The pools' queues as one JobQueue, for code that sends messages. */
export function createJobQueue(config: RuntimeConfig): SqsJobQueue {
  const sqs = createSqsClient({ region: config.region, ...(config.endpoints.sqs ? { endpoint: config.endpoints.sqs } : {}) });
  return new SqsJobQueue({ client: sqs, queueUrls: Object.fromEntries(config.queues.map((q) => [q.pool, q.url])) });
}

/**
 * What the submit and retry routes add: a queue to send on and, where the deployment has ECS
 * pools, a scale-out right after the send, so an idle pool starts a worker without waiting for
 * the scheduled scaler. A scaling failure is logged, never failed: the schedule catches up.
 */
export function dispatchDependencies(config: RuntimeConfig): Omit<ApiDependencyOptions, 'clock'> {
  const scaler = workerScalerFromEnv();
  return {
    queue: createJobQueue(config),
    ...(scaler
      ? {
          afterDispatch: async (pool: string) => {
            try {
              await scaler.scalePool(pool, { pendingMessages: 1, allowScaleIn: false });
            } catch (err) {
              jsonLogger('warn', 'scale-out after submit failed', { pool, error: String(err) });
            }
          },
        }
      : {}),
  };
}
