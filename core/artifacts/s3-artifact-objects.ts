import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ArtifactObjects } from './artifact-objects.ts';

export interface S3ArtifactObjectsOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Part size of multipart uploads (lib-storage's minimum and default: 5 MiB). */
  readonly partBytes?: number;
}

/**
 * Artifacts in the artifacts bucket. Uploads go through lib-storage (multipart above one part, four
 * parts in flight) with a SHA-256 checksum on every part, which S3 verifies on receipt; the
 * object's own SHA-256 is computed here from the bytes as they are read, and the stored size is
 * checked afterwards.
 */
export class S3ArtifactObjects implements ArtifactObjects {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly partBytes: number;

  constructor(options: S3ArtifactObjectsOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.partBytes = options.partBytes ?? 5 * 1024 * 1024;
  }

  async put(key: string, body: Readable, size: number): Promise<{ sha256: string }> {
    const hash = createHash('sha256');
    let seen = 0;
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        seen += chunk.length;
        done(null, chunk);
      },
    });
    body.on('error', (err) => hashing.destroy(err));
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body.pipe(hashing), ChecksumAlgorithm: 'SHA256' },
      partSize: this.partBytes,
      queueSize: 4,
      leavePartsOnError: false,
    });
    await upload.done();
    if (seen !== size) throw new Error(`read ${seen} bytes of ${key}, expected ${size} (the file changed while it was uploaded)`);
    const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
    if (head.ContentLength !== size) throw new Error(`stored ${head.ContentLength ?? '?'} bytes of ${key}, expected ${size}`);
    return { sha256: hash.digest('hex') };
  }

  presignGet(key: string, fileName: string, expiresInSeconds: number): Promise<string> {
    const disposition = `attachment; filename*=UTF-8''${encodeURIComponent(fileName)}`;
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key, ResponseContentDisposition: disposition }), {
      expiresIn: expiresInSeconds,
    });
  }
}
