import { ECSClient } from '@aws-sdk/client-ecs';
import { createSqsClient } from '../aws/sqs-client.ts';
import { SDK_MAX_ATTEMPTS } from '../aws/client-options.ts';
import type { ScalingConfig } from '../scaling/config.ts';
import { EcsWorkerScaler } from '../scaling/ecs-scaler.ts';

/** The scheduled scaler over a deployment's pools, its clients built from its validated config. */
export function createWorkerScaler(config: ScalingConfig): EcsWorkerScaler {
  return new EcsWorkerScaler({
    sqs: createSqsClient({ region: config.region, ...(config.sqsEndpoint ? { endpoint: config.sqsEndpoint } : {}) }),
    ecs: new ECSClient({ region: config.region, maxAttempts: SDK_MAX_ATTEMPTS }),
    targets: config.targets,
  });
}
