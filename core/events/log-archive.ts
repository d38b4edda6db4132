/**
 * The log archive: an attempt's complete output in S3, written once when the attempt ends, so that
 * reads keep working after the events expire from DynamoDB (their TTL).
 *
 * Two objects per attempt, under `logs/<jobId>/<attempt>/`:
 * - `output.gz`: exactly the bytes the process wrote (both streams, in seq order), gzip. It is a
 *   series of gzip members of about 1 MiB of output each; concatenated members are one valid gzip
 *   file (`gunzip` and browsers decode it whole), and each member can be fetched and decoded on its
 *   own with a ranged GET, so a page of events from the middle of a 10 GiB log costs one small read.
 * - the index: every event without its bytes (seq, ts, stream, encoding, and the byte offset and
 *   length of its data in the output) and the members' byte ranges, so the archive answers the same
 *   cursor reads (`afterSeq` → `next`) as the events table. A small index rides in the output
 *   object's own metadata (one PUT per attempt, not two: an S3 PUT costs as much as eight DynamoDB
 *   write units); a larger one is the object `index.json` beside it. The attempt record's
 *   `indexKey` says which: the output's own key, or `index.json`.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { OutputStream } from './event.ts';

/** Everything under this prefix of the artifacts bucket is log archive (its lifecycle rule applies here). */
export const LOG_ARCHIVE_PREFIX = 'logs/';

/** What an attempt record keeps about its archived output. */
export interface OutputArchiveRecord {
  /** Key of the gzip output in the artifacts bucket. */
  readonly key: string;
  /** Where the index is: `key` itself (in the object's metadata, indexInMetadata) or its own object. */
  readonly indexKey: string;
  /** Bytes of output (uncompressed). */
  readonly bytes: number;
  /** Events archived: seq 1..lastSeq. */
  readonly lastSeq: number;
  /** SHA-256 (hex) of the uncompressed output. */
  readonly sha256: string;
}

export function logArchiveKeys(jobId: string, attempt: number): { key: string; indexKey: string } {
  const base = `${LOG_ARCHIVE_PREFIX}${jobId}/${attempt}/`;
  return { key: `${base}output.gz`, indexKey: `${base}index.json` };
}

export type ArchivedEventEntry =
  | {
      readonly seq: number;
      readonly ts: string;
      readonly kind: 'output';
      readonly stream: OutputStream;
      readonly encoding?: 'base64';
      /** Where the event's bytes are in the uncompressed output. */
      readonly offset: number;
      readonly length: number;
    }
  | { readonly seq: number; readonly ts: string; readonly kind: 'lifecycle'; readonly name: string; readonly details: Record<string, unknown> };

export interface ArchiveMember {
  readonly offset: number;
  readonly length: number;
  readonly rawOffset: number;
  readonly rawLength: number;
}

export interface ArchiveIndex {
  readonly version: 1;
  readonly jobId: string;
  readonly attempt: number;
  readonly bytes: number;
  readonly events: readonly ArchivedEventEntry[];
  readonly members: readonly ArchiveMember[];
}

/** The user-metadata key (`x-amz-meta-…`) of an index carried by its output object. */
export const INDEX_METADATA_KEY = 'runplane-index';
/** S3 allows 2 KB of user metadata, keys and values together (UTF-8). */
const MAX_METADATA_BYTES = 2048;

/** The index as a metadata value (base64 of its gzipped JSON), or undefined when it does not fit. */
export function indexMetadataValue(index: ArchiveIndex): string | undefined {
  const value = gzipSync(JSON.stringify(index)).toString('base64');
  return INDEX_METADATA_KEY.length + value.length <= MAX_METADATA_BYTES ? value : undefined;
}

export function indexFromMetadata(value: string | undefined, key: string): ArchiveIndex {
  if (!value) throw new Error(`log archive ${key} carries no index in its metadata`);
  return JSON.parse(gunzipSync(Buffer.from(value, 'base64')).toString('utf8')) as ArchiveIndex;
}

/** Whether an archive's index is carried in its output object's metadata (no index object of its own). */
export function indexInMetadata(archive: { readonly key: string; readonly indexKey: string }): boolean {
  return archive.indexKey === archive.key;
}

/** Where archives are kept: the artifacts bucket in AWS, fauxqs's S3 locally. */
export interface LogArchiveStore {
  /**
   * Uploads the output (from a local gzip file) and its index: in the output's metadata when it
   * fits, else as `keys.indexKey` after the output (so a readable index always has its output).
   * Answers where the index went (the record's `indexKey`).
   */
  put(keys: { key: string; indexKey: string }, outputFile: string, index: ArchiveIndex): Promise<{ indexKey: string }>;
  getIndex(archive: { key: string; indexKey: string }): Promise<ArchiveIndex>;
  /** A whole archive whose index is in its metadata: the stored (compressed) bytes and the index, one GET. */
  getWhole(key: string): Promise<{ bytes: Buffer; index: ArchiveIndex }>;
  /** Bytes `start`..`endInclusive` of an object, as stored (compressed). */
  getRange(key: string, start: number, endInclusive: number): Promise<Buffer>;
  /** A presigned GET, valid for `expiresInSeconds`, that downloads the object as `filename`. */
  downloadUrl(key: string, expiresInSeconds: number, filename: string): Promise<string>;
}
