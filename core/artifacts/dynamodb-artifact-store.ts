import { BatchWriteCommand, GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor } from '../aws/cursor.ts';
import { dependencyFailure } from '../aws/errors.ts';
import type { Page } from '../jobs/store.ts';
import type { ArtifactRecord } from '../artifact.ts';
import type { ArtifactStore } from './artifact-store.ts';

/** Artifact items' partition keys: `ARTIFACT#<jobId>#<attempt>#<path>` (the worker's write grant is limited to these). */
export const ARTIFACT_KEY_PREFIX = 'ARTIFACT#';
const INDEX = 'artifactsByAttempt';
const attemptKey = (jobId: string, attempt: number) => `${jobId}#${attempt}`;
const artifactKey = (jobId: string, attempt: number, path: string) => ({ pk: `${ARTIFACT_KEY_PREFIX}${attemptKey(jobId, attempt)}#${path}` });

export interface DynamoDbArtifactStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

/**
 * Artifact records in the jobs table: one item per file, fetched by key for a download (strongly
 * consistent) and listed per attempt through the sparse `artifactsByAttempt` index, in path order.
 */
export class DynamoDbArtifactStore implements ArtifactStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(options: DynamoDbArtifactStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async record(records: readonly ArtifactRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += 25) {
      let pending: Record<string, unknown>[] = records.slice(i, i + 25).map((r) => ({ PutRequest: { Item: toItem(r) } }));
      for (let round = 0; pending.length > 0; round++) {
        if (round >= 8) throw dependencyFailure('dynamodb', new Error('unprocessed artifact records after 8 rounds'));
        try {
          const out = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending as never } }));
          pending = (out.UnprocessedItems?.[this.tableName] ?? []) as Record<string, unknown>[];
        } catch (err) {
          throw dependencyFailure('dynamodb', err);
        }
        if (pending.length > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** round));
      }
    }
  }

  async list(jobId: string, attempt: number, limit: number, cursor?: string): Promise<Page<ArtifactRecord>> {
    const key = attemptKey(jobId, attempt);
    const start = decodeCursor(cursor, { pk: 'S', artifactAttemptKey: 'S', artifactPath: 'S' }, { artifactAttemptKey: key });
    try {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEX,
          KeyConditionExpression: 'artifactAttemptKey = :k',
          ExpressionAttributeValues: { ':k': key },
          Limit: limit,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      return { items: (out.Items ?? []).map(fromItem), nextCursor: encodeCursor(out.LastEvaluatedKey) };
    } catch (err) {
      throw dependencyFailure('dynamodb', err);
    }
  }

  async get(jobId: string, attempt: number, path: string): Promise<ArtifactRecord | undefined> {
    try {
      const out = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: artifactKey(jobId, attempt, path), ConsistentRead: true }),
      );
      return out.Item ? fromItem(out.Item) : undefined;
    } catch (err) {
      throw dependencyFailure('dynamodb', err);
    }
  }
}

function toItem(r: ArtifactRecord): Record<string, unknown> {
  return {
    ...artifactKey(r.jobId, r.attempt, r.path),
    artifactAttemptKey: attemptKey(r.jobId, r.attempt),
    artifactPath: r.path,
    jobId: r.jobId,
    attempt: r.attempt,
    size: r.size,
    sha256: r.sha256,
    createdAt: r.createdAt,
  };
}

function fromItem(item: Record<string, unknown>): ArtifactRecord {
  return {
    jobId: item.jobId as string,
    attempt: item.attempt as number,
    path: item.artifactPath as string,
    size: item.size as number,
    sha256: item.sha256 as string,
    createdAt: item.createdAt as string,
  };
}
