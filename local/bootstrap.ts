import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type AttributeDefinition,
  type DynamoDBClient,
  type Projection,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  TABLES,
  deadLetterQueueName,
  indexProjection,
  type IndexProjection,
  queueName,
  tableName,
  type QueueDefinition,
  type TableDefinition,
} from '../core/resources.ts';

/** The CreateTable input for a table definition: the same keys and GSIs the CDK stack declares. */
export function createTableInput(prefix: string, table: TableDefinition) {
  const attributes = new Map<string, AttributeDefinition>();
  const add = (k: { name: string; type: 'S' | 'N' }) => attributes.set(k.name, { AttributeName: k.name, AttributeType: k.type });
  add(table.partitionKey);
  if (table.sortKey) add(table.sortKey);
  for (const gsi of table.globalIndexes) {
    add(gsi.partitionKey);
    if (gsi.sortKey) add(gsi.sortKey);
  }
  return {
    TableName: tableName(prefix, table),
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [...attributes.values()],
    KeySchema: [
      { AttributeName: table.partitionKey.name, KeyType: 'HASH' as const },
      ...(table.sortKey ? [{ AttributeName: table.sortKey.name, KeyType: 'RANGE' as const }] : []),
    ],
    ...(table.globalIndexes.length > 0
      ? {
          GlobalSecondaryIndexes: table.globalIndexes.map((gsi) => ({
            IndexName: gsi.indexName,
            KeySchema: [
              { AttributeName: gsi.partitionKey.name, KeyType: 'HASH' as const },
              ...(gsi.sortKey ? [{ AttributeName: gsi.sortKey.name, KeyType: 'RANGE' as const }] : []),
            ],
            Projection: projectionInput(indexProjection(gsi)),
          })),
        }
      : {}),
  };
}

function projectionInput(projection: IndexProjection): Projection {
  return projection.type === 'INCLUDE'
    ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...projection.attributes] }
    : { ProjectionType: projection.type };
}

/** Creates any missing tables; existing ones are left as they are (so local data survives restarts). */
export async function ensureTables(client: DynamoDBClient, prefix: string, tables: readonly TableDefinition[] = TABLES) {
  await Promise.all(
    tables.map(async (table) => {
      const name = tableName(prefix, table);
      try {
        const described = await client.send(new DescribeTableCommand({ TableName: name }));
        await addMissingIndexes(client, prefix, table, described.Table?.GlobalSecondaryIndexes?.map((g) => g.IndexName ?? '') ?? []);
        return;
      } catch (err) {
        if (!(err instanceof Error && err.name === 'ResourceNotFoundException')) throw err;
      }
      try {
        await client.send(new CreateTableCommand(createTableInput(prefix, table)));
      } catch (err) {
        if (!(err instanceof Error && err.name === 'ResourceInUseException')) throw err;
      }
      if (table.ttlAttribute) {
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName: name,
            TimeToLiveSpecification: { AttributeName: table.ttlAttribute, Enabled: true },
          }),
        );
      }
    }),
  );
}

/** A table kept from an older version gets the GSIs added since (one per UpdateTable, as DynamoDB requires). */
async function addMissingIndexes(client: DynamoDBClient, prefix: string, table: TableDefinition, existing: readonly string[]) {
  const input = createTableInput(prefix, table);
  for (const gsi of input.GlobalSecondaryIndexes ?? []) {
    if (existing.includes(gsi.IndexName)) continue;
    await client.send(
      new UpdateTableCommand({
        TableName: input.TableName,
        AttributeDefinitions: input.AttributeDefinitions,
        GlobalSecondaryIndexUpdates: [{ Create: gsi }],
      }),
    );
  }
}

/** Creates the artifacts bucket unless it exists (fauxqs keeps S3 in memory: every start). */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const name = (err as Error).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  }
}

export async function deleteTables(client: DynamoDBClient, prefix: string, tables: readonly TableDefinition[] = TABLES) {
  await Promise.all(
    tables.map((t) => client.send(new DeleteTableCommand({ TableName: tableName(prefix, t) })).catch(() => undefined)),
  );
}

export interface EnsuredQueue {
  readonly pool: string;
  readonly url: string;
  readonly deadLetterUrl: string;
}

/** Creates each pool's queue and DLQ with the redrive policy; CreateQueue is idempotent for equal attributes. */
export async function ensureQueues(sqs: SQSClient, prefix: string, queues: readonly QueueDefinition[]): Promise<EnsuredQueue[]> {
  return Promise.all(
    queues.map(async (q) => {
      const dlq = await sqs.send(
        new CreateQueueCommand({
          QueueName: deadLetterQueueName(prefix, q.pool),
          Attributes: { MessageRetentionPeriod: String(14 * 24 * 3600) },
        }),
      );
      const dlqAttrs = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl!, AttributeNames: ['QueueArn'] }),
      );
      const main = await sqs.send(
        new CreateQueueCommand({
          QueueName: queueName(prefix, q.pool),
          Attributes: {
            VisibilityTimeout: String(q.visibilityTimeoutSeconds),
            MessageRetentionPeriod: String(q.messageRetentionSeconds),
            ReceiveMessageWaitTimeSeconds: '20',
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: dlqAttrs.Attributes!.QueueArn,
              maxReceiveCount: q.maxReceiveCount,
            }),
          },
        }),
      );
      return { pool: q.pool, url: main.QueueUrl!, deadLetterUrl: dlq.QueueUrl! };
    }),
  );
}

export async function deleteQueues(sqs: SQSClient, queues: readonly EnsuredQueue[]) {
  await Promise.all(
    queues.flatMap((q) => [q.url, q.deadLetterUrl]).map((url) => sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => undefined)),
  );
}

/** The local artifacts bucket (log archives, artifacts): fauxqs serves S3 on its SQS port. */
export function localArtifactsBucket(prefix: string): string {
  return `${prefix}-artifacts`.toLowerCase();
}

