import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dependencyFailure } from '../aws/errors.ts';
import type { PendingBacklog, PendingDemandReader, PoolScaling, PoolScalingBoard } from './pool-scaling.ts';

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
 * Lists a pool's pending jobs by group from the `pending` GSI (partition = pool, sort key
 * `<group>#<priority>#<id>`, so each group's jobs come in admission order; it projects `group` and
 * `resources`). Reads every pending item's small projection: 10,000 pending jobs are two or three
 * pages, once a minute.
 */
export class DynamoDbPendingDemand implements PendingDemandReader {
  constructor(private readonly options: { client: DynamoDBDocumentClient; tableName: string }) {}

  async read(pool: string): Promise<PendingBacklog> {
    const backlog = new Map<string, number[]>();
    let start: Record<string, unknown> | undefined;
    try {
      do {
        const out = await this.options.client.send(
          new QueryCommand({
            TableName: this.options.tableName,
            IndexName: 'pending',
            KeyConditionExpression: 'pendingKey = :pool',
            ExpressionAttributeValues: { ':pool': pool },
            // GROUP is a reserved word.
            ProjectionExpression: '#group, resources',
            ExpressionAttributeNames: { '#group': 'group' },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of out.Items ?? []) {
          const group = String(item.group ?? '');
          const gpus = Number((item.resources as { gpus?: unknown } | undefined)?.gpus ?? 0) || 0;
          const jobs = backlog.get(group);
          if (jobs) jobs.push(gpus);
          else backlog.set(group, [gpus]);
        }
        start = out.LastEvaluatedKey;
      } while (start);
    } catch (err) {
      throw dependencyFailure('pending jobs', err);
    }
    return backlog;
  }
}
