import { S3Client } from '@aws-sdk/client-s3';
import { EMULATOR_CREDENTIALS, type ClientOptions } from './client-options.ts';

/**
 * The S3 client for the artifacts bucket. Against an emulator (fauxqs serves S3 on its SQS port)
 * requests are path-style: `<bucket>.127.0.0.1` does not resolve. Checksums are sent only where an
 * operation requires one or the caller asks for one (ChecksumSHA256 on our puts): the SDK's
 * default would add a CRC32 of its own to every presigned URL, which the URL's user cannot match.
 */
export function createS3Client(options: ClientOptions = {}): S3Client {
  return new S3Client({
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(options.endpoint ? { endpoint: options.endpoint, credentials: EMULATOR_CREDENTIALS, forcePathStyle: true } : {}),
  });
}
