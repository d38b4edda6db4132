import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Readable } from 'node:stream';
import { dependencyFailure } from '../aws/errors.ts';
import { ValidationError } from '../errors.ts';
import { archiveId, archiveObjectKey } from '../archive-id.ts';
import { UPLOAD_PART_BYTES } from '../workdir-limits.ts';
import {
  ArchiveNotFoundError,
  type CompletedPart,
  type UploadInstructions,
  type WorkdirArchiveStore,
} from './workdir-archive-store.ts';

export interface S3WorkdirArchiveStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
}

export function isS3NotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/** Archives as objects `workdirs/<group>/<sha256>.tar.gz` of the artifacts bucket. */
export class S3WorkdirArchiveStore implements WorkdirArchiveStore {
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(options: S3WorkdirArchiveStoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
  }

  async exists(group: string, sha256Hex: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: archiveObjectKey(group, sha256Hex) }));
      return true;
    } catch (err) {
      if (isS3NotFound(err)) return false;
      throw dependencyFailure('s3', err);
    }
  }

  async createUpload(group: string, sha256Hex: string, size: number, expiresInSeconds: number): Promise<UploadInstructions> {
    const Key = archiveObjectKey(group, sha256Hex);
    try {
      if (size <= UPLOAD_PART_BYTES) {
        // S3 checks the body against the signed checksum: a PUT of other bytes under this hash fails.
        const checksum = Buffer.from(sha256Hex, 'hex').toString('base64');
        const command = new PutObjectCommand({ Bucket: this.bucket, Key, ContentLength: size, ChecksumSHA256: checksum });
        const url = await getSignedUrl(this.client, command, {
          expiresIn: expiresInSeconds,
          // Kept a header (not hoisted into the query): the client must send it, so S3 checks the body against it.
          unhoistableHeaders: new Set(['x-amz-checksum-sha256']),
        });
        return { kind: 'put', url, headers: { 'x-amz-checksum-sha256': checksum } };
      }
      // Multipart checksums are of parts, not of the object, so S3 cannot check the archive's hash
      // here: the worker does, on every download (specs/10-work-in-and-out.md).
      const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key }));
      const uploadId = created.UploadId!;
      const count = Math.ceil(size / UPLOAD_PART_BYTES);
      const parts = await Promise.all(
        Array.from({ length: count }, async (_, i) => ({
          partNumber: i + 1,
          url: await getSignedUrl(
            this.client,
            new UploadPartCommand({ Bucket: this.bucket, Key, UploadId: uploadId, PartNumber: i + 1 }),
            { expiresIn: expiresInSeconds },
          ),
        })),
      );
      return { kind: 'multipart', uploadId, partBytes: UPLOAD_PART_BYTES, parts };
    } catch (err) {
      throw dependencyFailure('s3', err);
    }
  }

  async completeUpload(group: string, sha256Hex: string, uploadId: string, parts: readonly CompletedPart[]): Promise<void> {
    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: archiveObjectKey(group, sha256Hex),
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
        }),
      );
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NoSuchUpload' || e.name === 'InvalidPart' || e.name === 'InvalidPartOrder' || e.$metadata?.httpStatusCode === 400 || e.$metadata?.httpStatusCode === 404) {
        throw new ValidationError(`upload ${uploadId} of ${archiveId(sha256Hex)} cannot be completed: ${e.name ?? 'refused'}`, [
          { path: 'parts', message: 'unknown upload or parts' },
        ]);
      }
      throw dependencyFailure('s3', err);
    }
  }

  async open(group: string, sha256Hex: string): Promise<Readable> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: archiveObjectKey(group, sha256Hex) }));
      return out.Body as Readable;
    } catch (err) {
      if (isS3NotFound(err)) throw new ArchiveNotFoundError(archiveId(sha256Hex));
      throw dependencyFailure('s3', err);
    }
  }
}
