import { S3Client } from '@aws-sdk/client-s3';
import { EMULATOR_CREDENTIALS, type ClientOptions } from './client-options.ts';

/** S3 for the artifacts bucket (log archives, artifacts, uploads). */
export function createS3Client(options: ClientOptions = {}): S3Client {
  return new S3Client({
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    // Emulators (fauxqs, LocalStack) serve buckets by path on one host, not as virtual hosts.
    ...(options.endpoint ? { endpoint: options.endpoint, credentials: EMULATOR_CREDENTIALS, forcePathStyle: true } : {}),
  });
}
