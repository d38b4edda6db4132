import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { dependencyFailure } from '../aws/errors.ts';
import type { ArchiveIndex, LogArchiveStore } from './log-archive.ts';

const DEPENDENCY = 'log archive';

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

  async put(keys: { key: string; indexKey: string }, outputFile: string, index: ArchiveIndex): Promise<void> {
    try {
      const { size } = await stat(outputFile);
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: keys.key,
          Body: createReadStream(outputFile),
          ContentLength: size,
          ContentType: 'application/gzip',
        }),
      );
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: keys.indexKey,
          Body: JSON.stringify(index),
          ContentType: 'application/json',
        }),
      );
    } catch (err) {
      throw dependencyFailure(DEPENDENCY, err);
    }
  }

  async getIndex(indexKey: string): Promise<ArchiveIndex> {
    const body = await this.get(indexKey);
    return JSON.parse(body.toString('utf8')) as ArchiveIndex;
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
