import { meterS3 } from '../aws/request-meter.ts';
import { createS3Client } from '../aws/s3-client.ts';
import type { RuntimeConfig } from '../config.ts';
import { S3LogArchiveStore } from '../events/s3-log-archive-store.ts';
import type { ClientsOptions } from './clients.ts';

/**
 * The log archive in the artifacts bucket, for the routes that read output (logs, events) and for
 * workers: only they bundle the S3 client. None when the deployment has no bucket.
 */
export function logArchiveDependencies(config: RuntimeConfig, options: ClientsOptions = {}): { logArchive?: S3LogArchiveStore } {
  if (!config.artifactsBucket) return {};
  const client = createS3Client({ region: config.region, ...(config.endpoints.s3 ? { endpoint: config.endpoints.s3 } : {}) });
  if (options.meter) meterS3(client, options.meter);
  return { logArchive: new S3LogArchiveStore({ client, bucket: config.artifactsBucket }) };
}
