import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dependencyFailure } from '../aws/errors.ts';
import { dayPartition, groupPartition, itemToUsageRecord, USAGE_INDEX } from './usage-record-item.ts';
import type { UsageRecord } from './usage-record.ts';
import type { UsageStore, UsageWindow } from './usage-store.ts';
import { itemToWorkerLifetime, WORKER_LIFETIME_PARTITION, type WorkerLifetime } from './worker-lifetime.ts';

/** Usage records and worker lifetimes in the jobs table, read through its `usage` GSI. */
export class DynamoDbUsageStore implements UsageStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(options: { client: DynamoDBDocumentClient; tableName: string }) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async listGroupUsage(group: string, window: UsageWindow): Promise<UsageRecord[]> {
    return (await this.queryWindow(groupPartition(group), window)).map(itemToUsageRecord);
  }

  async listDayUsage(day: string, window: UsageWindow): Promise<UsageRecord[]> {
    return (await this.queryWindow(dayPartition(day), window)).map(itemToUsageRecord);
  }

  async listWorkerLifetimes(window: UsageWindow): Promise<WorkerLifetime[]> {
    // Sorted by last seen: everything seen since the window opened, less what started after it closed.
    const items = await this.queryAll({
      KeyConditionExpression: 'usageKey = :k AND usageSortKey >= :from',
      FilterExpression: 'startedAt < :to',
      ExpressionAttributeValues: { ':k': WORKER_LIFETIME_PARTITION, ':from': window.from, ':to': window.to },
    });
    return items.map(itemToWorkerLifetime);
  }

  /** Sort keys are `<finishedAt>#<job>#<attempt>`: BETWEEN from AND to holds exactly those that ended in [from, to). */
  private queryWindow(partition: string, window: UsageWindow) {
    return this.queryAll({
      KeyConditionExpression: 'usageKey = :k AND usageSortKey BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':k': partition, ':from': window.from, ':to': window.to },
    });
  }

  private async queryAll(input: {
    KeyConditionExpression: string;
    FilterExpression?: string;
    ExpressionAttributeValues: Record<string, unknown>;
  }): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    try {
      do {
        const out = await this.client.send(new QueryCommand({ TableName: this.tableName, IndexName: USAGE_INDEX, ...input, ExclusiveStartKey: startKey }));
        items.push(...(out.Items ?? []));
        startKey = out.LastEvaluatedKey;
      } while (startKey);
    } catch (err) {
      throw dependencyFailure('usage store', err);
    }
    return items;
  }
}
