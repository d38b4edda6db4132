import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createDocumentClient } from '../../core/aws/dynamodb-client.ts';
import { createSqsClient } from '../../core/aws/sqs-client.ts';
import { AUDIT_TABLE, EVENTS_TABLE, JOBS_TABLE, queueDefinition, tableName, type QueueDefinition } from '../../core/resources.ts';
import type { RuntimeConfig } from '../../core/config.ts';
import { deleteQueues, deleteTables, ensureBucket, ensureQueues, ensureTables, type EnsuredQueue } from '../../local/bootstrap.ts';
import { createS3Client } from '../../core/aws/s3-client.ts';

export interface TestEnvironment {
  readonly prefix: string;
  readonly dynamoEndpoint: string;
  readonly sqsEndpoint: string;
  readonly documentClient: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly queues: readonly EnsuredQueue[];
  readonly queueDefinitions: readonly QueueDefinition[];
  /** fauxqs serves S3 on its SQS port; each environment has its own artifacts bucket. */
  readonly s3Endpoint: string;
  readonly bucket: string;
  cleanup(): Promise<void>;
}

/** Fresh tables and queues under a random prefix on the shared emulators: no state leaks between tests. */
export async function createTestEnvironment(
  queueDefinitions: readonly QueueDefinition[] = [queueDefinition('default', { visibilityTimeoutSeconds: 30 })],
): Promise<TestEnvironment> {
  const dynamoEndpoint = inject('dynamoEndpoint');
  const sqsEndpoint = inject('sqsEndpoint');
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const documentClient = createDocumentClient({ endpoint: dynamoEndpoint });
  const sqs = createSqsClient({ endpoint: sqsEndpoint });
  await ensureTables(documentClient as never, prefix);
  const queues = await ensureQueues(sqs, prefix, queueDefinitions);
  const bucket = `${prefix}-artifacts`;
  await ensureBucket(createS3Client({ endpoint: sqsEndpoint }), bucket);
  return {
    s3Endpoint: sqsEndpoint,
    bucket,
    prefix,
    dynamoEndpoint,
    sqsEndpoint,
    documentClient,
    sqs,
    queues,
    queueDefinitions,
    async cleanup() {
      await Promise.all([deleteTables(documentClient as never, prefix), deleteQueues(sqs, queues)]);
    },
  };
}

/** The runtime configuration of a test environment, as the platform would hand it to handlers and workers. */
export function runtimeConfigFor(env: TestEnvironment, extra: Partial<RuntimeConfig> = {}): RuntimeConfig {
  return {
    tables: {
      jobs: tableName(env.prefix, JOBS_TABLE),
      events: tableName(env.prefix, EVENTS_TABLE),
      audit: tableName(env.prefix, AUDIT_TABLE),
    },
    queues: env.queues.map((q) => {
      const d = env.queueDefinitions.find((x) => x.pool === q.pool)!;
      return { ...q, visibilityTimeoutSeconds: d.visibilityTimeoutSeconds, maxReceiveCount: d.maxReceiveCount, defaultMaxAttempts: d.defaultMaxAttempts };
    }),
    endpoints: { dynamodb: env.dynamoEndpoint, sqs: env.sqsEndpoint, s3: env.s3Endpoint },
    artifactsBucket: env.bucket,
    region: 'us-east-1',
    ...extra,
  };
}
