import { DynamoDbArtifactStore } from '../artifacts/dynamodb-artifact-store.ts';
import { S3ArtifactObjects } from '../artifacts/s3-artifact-objects.ts';
import { createS3Client } from '../aws/s3-client.ts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RuntimeConfig } from '../config.ts';
import { S3WorkdirArchiveStore } from '../uploads/s3-workdir-archive-store.ts';
import { DEFAULT_WORKDIR_LIMITS } from '../workdir-limits.ts';

/**
 * The S3-backed parts of work in and out (archives, artifact bytes, artifact records), built from
 * the runtime configuration. Undefined without an artifacts bucket: jobs then run in empty
 * directories and the upload and artifact routes answer that nothing is stored.
 */
export function createJobFilesParts(config: RuntimeConfig, documentClient: DynamoDBDocumentClient) {
  if (!config.artifactsBucket) return undefined;
  const s3 = createS3Client({ region: config.region, ...(config.endpoints.s3 ? { endpoint: config.endpoints.s3 } : {}) });
  const bucket = config.artifactsBucket;
  return {
    limits: config.workdirLimits ?? DEFAULT_WORKDIR_LIMITS,
    archives: new S3WorkdirArchiveStore({ client: s3, bucket }),
    artifactObjects: new S3ArtifactObjects({ client: s3, bucket }),
    artifactRecords: new DynamoDbArtifactStore({ client: documentClient, tableName: config.tables.jobs }),
  };
}
export type JobFilesParts = NonNullable<ReturnType<typeof createJobFilesParts>>;
export type JobFilesFactory = typeof createJobFilesParts;
