import { DeleteCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dependencyFailure } from '../aws/errors.ts';
import type { RuntimeIsolation } from './registry.ts';
import type { WorkerRecord, WorkerRegistry } from './registry.ts';

/** Registry items' key prefix in the jobs table; the worker's IAM policy is scoped to it. */
export const WORKER_REGISTRY_KEY_PREFIX = 'WORKER#';

/** Registry items live in the jobs table (`pk = WORKER#<id>`), listed per pool by the `workersByPool` GSI. */
export class DynamoDbWorkerRegistry implements WorkerRegistry {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  /** A worker that stops reporting disappears on its own after this long (DynamoDB TTL). */
  private readonly ttlSeconds: number;

  constructor(options: { client: DynamoDBDocumentClient; tableName: string; ttlSeconds?: number }) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.ttlSeconds = options.ttlSeconds ?? 3600;
  }

  async report(record: WorkerRecord): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: `${WORKER_REGISTRY_KEY_PREFIX}${record.workerId}`,
            workerPoolKey: record.pool,
            ...record,
            expiresAt: Math.floor(new Date(record.lastSeenAt).getTime() / 1000) + this.ttlSeconds,
          },
        }),
      );
    } catch (err) {
      throw dependencyFailure('worker registry', err);
    }
  }

  async remove(workerId: string): Promise<void> {
    try {
      await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: `${WORKER_REGISTRY_KEY_PREFIX}${workerId}` } }));
    } catch (err) {
      throw dependencyFailure('worker registry', err);
    }
  }

  async listWorkers(pool: string, seenWithinMs: number, now: Date): Promise<WorkerRecord[]> {
    const since = new Date(now.getTime() - seenWithinMs).toISOString();
    const workers: WorkerRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    try {
      do {
        const out = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: 'workersByPool',
            KeyConditionExpression: 'workerPoolKey = :pool',
            FilterExpression: 'lastSeenAt >= :since',
            ExpressionAttributeValues: { ':pool': pool, ':since': since },
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of out.Items ?? []) workers.push(toRecord(item));
        startKey = out.LastEvaluatedKey;
      } while (startKey);
    } catch (err) {
      throw dependencyFailure('worker registry', err);
    }
    return workers;
  }
}

function toRecord(item: Record<string, unknown>): WorkerRecord {
  return {
    workerId: item.workerId as string,
    pool: item.pool as string,
    hostname: item.hostname as string,
    pid: item.pid as number,
    concurrency: item.concurrency as number,
    gpus: (item.gpus as WorkerRecord['gpus'] | undefined) ?? [],
    runningJobs: (item.runningJobs as string[] | undefined) ?? [],
    runningJobGroups: (item.runningJobGroups as Record<string, string> | undefined) ?? {},
    startedAt: item.startedAt as string,
    lastSeenAt: item.lastSeenAt as string,
    draining: (item.draining as boolean | undefined) ?? false,
    ...(item.isolation ? { isolation: item.isolation as RuntimeIsolation } : {}),
  };
}
