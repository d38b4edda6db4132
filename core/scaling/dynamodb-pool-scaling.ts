import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dependencyFailure } from '../aws/errors.ts';
import type { PendingDemand, PendingDemandReader, PoolScaling, PoolScalingBoard } from './pool-scaling.ts';

/** Scaling status items' key prefix in the jobs table (`pk = SCALING#<pool>`); the scaler's grant is scoped to it. */
export const POOL_SCALING_KEY_PREFIX = 'SCALING#';

export class DynamoDbPoolScalingBoard implements PoolScalingBoard {
  constructor(private readonly options: { client: DynamoDBDocumentClient; tableName: string }) {}

  async read(pool: string): Promise<PoolScaling | undefined> {
    try {
      const out = await this.options.client.send(new GetCommand({ TableName: this.options.tableName, Key: { pk: `${POOL_SCALING_KEY_PREFIX}${pool}` } }));
      if (!out.Item) return undefined;
      return { pool, desiredTasks: Number(out.Item.desiredTasks), runningTasks: Number(out.Item.runningTasks), at: String(out.Item.at) };
    } catch (err) {
      throw dependencyFailure('pool scaling status', err);
    }
  }

  async write(status: PoolScaling): Promise<void> {
    try {
      await this.options.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: { pk: `${POOL_SCALING_KEY_PREFIX}${status.pool}`, desiredTasks: status.desiredTasks, runningTasks: status.runningTasks, at: status.at },
        }),
      );
    } catch (err) {
      throw dependencyFailure('pool scaling status', err);
    }
  }
}

/**
 * Counts a pool's pending jobs and their GPUs from the `pending` GSI (partition = pool; it projects
 * `resources`). Reads every pending item's small projection: 10,000 pending jobs are two or three
 * pages, once a minute.
 */
export class DynamoDbPendingDemand implements PendingDemandReader {
  constructor(private readonly options: { client: DynamoDBDocumentClient; tableName: string }) {}

  async read(pool: string): Promise<PendingDemand> {
    let jobs = 0;
    let gpus = 0;
    let start: Record<string, unknown> | undefined;
    try {
      do {
        const out = await this.options.client.send(
          new QueryCommand({
            TableName: this.options.tableName,
            IndexName: 'pending',
            KeyConditionExpression: 'pendingKey = :pool',
            ExpressionAttributeValues: { ':pool': pool },
            ProjectionExpression: 'resources',
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of out.Items ?? []) {
          jobs += 1;
          gpus += Number((item.resources as { gpus?: unknown } | undefined)?.gpus ?? 0) || 0;
        }
        start = out.LastEvaluatedKey;
      } while (start);
    } catch (err) {
      throw dependencyFailure('pending jobs', err);
    }
    return { jobs, gpus };
  }
}
