import { ECSClient } from '@aws-sdk/client-ecs';
import { createDocumentClient } from '../aws/dynamodb-client.ts';
import { createSqsClient } from '../aws/sqs-client.ts';
import { SDK_MAX_ATTEMPTS } from '../aws/client-options.ts';
import type { ScalingConfig } from '../scaling/config.ts';
import { DynamoDbPendingDemand, DynamoDbPoolScalingBoard } from '../scaling/dynamodb-pool-scaling.ts';
import { EcsWorkerScaler } from '../scaling/ecs-scaler.ts';
import { DynamoDbGroupStore } from '../groups/dynamodb-group-store.ts';

/**
 * The scheduled scaler over a deployment's pools, its clients built from its validated config.
 * With the jobs table it counts each pool's pending jobs as demand (less those their group's quota
 * holds back, from the group items) and posts its decisions.
 */
export function createWorkerScaler(config: ScalingConfig, options: { ecs?: ECSClient } = {}): EcsWorkerScaler {
  const dynamodb = config.jobsTable
    ? { client: createDocumentClient({ region: config.region, ...(config.dynamodbEndpoint ? { endpoint: config.dynamodbEndpoint } : {}) }), tableName: config.jobsTable }
    : undefined;
  return new EcsWorkerScaler({
    sqs: createSqsClient({ region: config.region, ...(config.sqsEndpoint ? { endpoint: config.sqsEndpoint } : {}) }),
    ecs: options.ecs ?? new ECSClient({ region: config.region, maxAttempts: SDK_MAX_ATTEMPTS }),
    targets: config.targets,
    ...(dynamodb
      ? { pending: new DynamoDbPendingDemand(dynamodb), groups: new DynamoDbGroupStore(dynamodb), statuses: new DynamoDbPoolScalingBoard(dynamodb) }
      : {}),
  });
}
