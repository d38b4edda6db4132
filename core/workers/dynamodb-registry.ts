import { DeleteCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dependencyFailure } from '../aws/errors.ts';
import type { RuntimeIsolation } from './registry.ts';
import type { WorkerRecord, WorkerRegistry } from './registry.ts';
import { workerLifetimeToItem, type WorkerLifetime } from '../usage/worker-lifetime.ts';
import { systemClock, type Clock } from '../ids.ts';

/** How often a worker's lifetime record is brought up to date: idle capacity is known to this much. */
export const LIFETIME_WRITE_INTERVAL_MS = 60_000;

/** Registry items' key prefix in the jobs table; the worker's IAM policy is scoped to it. */
export const WORKER_REGISTRY_KEY_PREFIX = 'WORKER#';

/** Registry items live in the jobs table (`pk = WORKER#<id>`), listed per pool by the `workersByPool` GSI. */
export class DynamoDbWorkerRegistry implements WorkerRegistry {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  /** A worker that stops reporting disappears on its own after this long (DynamoDB TTL). */
  private readonly ttlSeconds: number;
  private readonly clock: Clock;
  /** Each reporting worker's lifetime as last written, and when. */
  private readonly lifetimes = new Map<string, { lifetime: WorkerLifetime; writtenAtMs: number }>();

  constructor(options: { client: DynamoDBDocumentClient; tableName: string; ttlSeconds?: number; clock?: Clock }) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.ttlSeconds = options.ttlSeconds ?? 3600;
    this.clock = options.clock ?? systemClock;
  }

  async report(record: WorkerRecord): Promise<void> {
    await this.recordLifetime(record);
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
    // The lifetime ends now, not at its last periodic write.
    const last = this.lifetimes.get(workerId);
    if (last) await this.writeLifetime({ ...last.lifetime, lastSeenAt: this.clock().toISOString() });
    this.lifetimes.delete(workerId);
    try {
      await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: `${WORKER_REGISTRY_KEY_PREFIX}${workerId}` } }));
    } catch (err) {
      throw dependencyFailure('worker registry', err);
    }
  }

  /**
   * The worker's lifetime record (core/usage/worker-lifetime.ts): written on its first report, then
   * at most once a minute, and when it is removed. A worker killed outright loses at most a minute.
   */
  private async recordLifetime(record: WorkerRecord): Promise<void> {
    const pricing = record.pricing ?? { usdPerInstanceHour: 0, gpus: record.gpus.length, vcpus: 0 };
    const lifetime: WorkerLifetime = { workerId: record.workerId, pool: record.pool, startedAt: record.startedAt, lastSeenAt: record.lastSeenAt, ...pricing };
    const last = this.lifetimes.get(record.workerId);
    const now = this.clock().getTime();
    if (last && now - last.writtenAtMs < LIFETIME_WRITE_INTERVAL_MS) {
      last.lifetime = lifetime;
      return;
    }
    await this.writeLifetime(lifetime);
    this.lifetimes.set(record.workerId, { lifetime, writtenAtMs: now });
  }

  private async writeLifetime(lifetime: WorkerLifetime): Promise<void> {
    try {
      await this.client.send(new PutCommand({ TableName: this.tableName, Item: workerLifetimeToItem(lifetime) }));
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
    ...(item.pricing ? { pricing: item.pricing as WorkerRecord['pricing'] & object } : {}),
    ...(typeof item.inbox === 'string' ? { inbox: item.inbox } : {}),
  };
}
