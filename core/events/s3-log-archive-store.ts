import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { dependencyFailure } from '../aws/errors.ts';
import { INDEX_METADATA_KEY, indexFromMetadata, indexInMetadata, indexMetadataValue, type ArchiveIndex, type LogArchiveStore } from './log-archive.ts';

const DEPENDENCY = 'log archive';

/** Archives larger than this go up in parts of this size (S3's minimum part is 5 MiB). */
export const MULTIPART_PART_BYTES = 8 * 1024 * 1024;

export interface S3LogArchiveStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
}

/** Log archives as objects of the artifacts bucket (LOG_ARCHIVE_PREFIX). */
export class S3LogArchiveStore implements LogArchiveStore {
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(options: S3LogArchiveStoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
  }

  async put(keys: { key: string; indexKey: string }, outputFile: string, index: ArchiveIndex): Promise<{ indexKey: string }> {
    try {
      const { size } = await stat(outputFile);
      // A small index goes in the output's own metadata: the whole archive is one PUT.
      const inline = size > MULTIPART_PART_BYTES ? undefined : indexMetadataValue(index);
      if (size > MULTIPART_PART_BYTES) await this.putInParts(keys.key, outputFile);
      else {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: keys.key,
            Body: createReadStream(outputFile),
            ContentLength: size,
            ContentType: 'application/gzip',
            ...(inline ? { Metadata: { [INDEX_METADATA_KEY]: inline } } : {}),
          }),
        );
      }
      if (inline) return { indexKey: keys.key };
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: keys.indexKey,
          Body: JSON.stringify(index),
          ContentType: 'application/json',
        }),
      );
      return { indexKey: keys.indexKey };
    } catch (err) {
      throw dependencyFailure(DEPENDENCY, err);
    }
  }

  /** One part in memory at a time; a failed upload is aborted so its parts are not billed. */
  private async putInParts(key: string, file: string): Promise<void> {
    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: 'application/gzip' }),
    );
    const handle = await open(file, 'r');
    try {
      const parts: { ETag: string; PartNumber: number }[] = [];
      const buffer = Buffer.allocUnsafe(MULTIPART_PART_BYTES);
      for (let partNumber = 1; ; partNumber++) {
        const { bytesRead } = await handle.read(buffer, 0, MULTIPART_PART_BYTES, (partNumber - 1) * MULTIPART_PART_BYTES);
        if (bytesRead === 0) break;
        const out = await this.client.send(
          new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId, PartNumber: partNumber, Body: buffer.subarray(0, bytesRead) }),
        );
        parts.push({ ETag: out.ETag!, PartNumber: partNumber });
      }
      await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
      );
    } catch (err) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId })).catch(() => undefined);
      throw err;
    } finally {
      await handle.close();
    }
  }

  async getIndex(archive: { key: string; indexKey: string }): Promise<ArchiveIndex> {
    if (indexInMetadata(archive)) {
      try {
        const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: archive.key }));
        return indexFromMetadata(out.Metadata?.[INDEX_METADATA_KEY], archive.key);
      } catch (err) {
        throw dependencyFailure(DEPENDENCY, err);
      }
    }
    const body = await this.get(archive.indexKey);
    return JSON.parse(body.toString('utf8')) as ArchiveIndex;
  }

  async getWhole(key: string): Promise<{ bytes: Buffer; index: ArchiveIndex }> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const bytes = Buffer.from(await out.Body!.transformToByteArray());
      return { bytes, index: indexFromMetadata(out.Metadata?.[INDEX_METADATA_KEY], key) };
    } catch (err) {
      throw dependencyFailure(DEPENDENCY, err);
    }
  }

  getRange(key: string, start: number, endInclusive: number): Promise<Buffer> {
    return this.get(key, `bytes=${start}-${endInclusive}`);
  }

  downloadUrl(key: string, expiresInSeconds: number, filename: string): Promise<string> {
    return getSignedUrl(
      this.client,
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ResponseContentDisposition: `attachment; filename="${filename.replace(/["\\]/g, '_')}"`,
      }),
      { expiresIn: expiresInSeconds },
    );
  }

  private async get(key: string, range?: string): Promise<Buffer> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: range } : {}) }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      throw dependencyFailure(DEPENDENCY, err);
    }
  }
}
