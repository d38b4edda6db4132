import * as z from 'zod';
import type { Caller } from '../auth/caller.ts';
import { groupNameSchema, resolveGroup } from '../auth/groups.ts';
import { parseOrThrow } from '../validation.ts';
import { archiveId, SHA256_HEX_PATTERN } from '../archive-id.ts';
import { MAX_UPLOAD_PARTS } from '../workdir-limits.ts';
import type { WorkdirLimits } from '../workdir-limits.ts';
import { UploadTooLargeError, type UploadInstructions, type WorkdirArchiveStore } from './workdir-archive-store.ts';

/** The body of `POST /v1/uploads`: what the client is about to send, declared before it sends it. */
export const createUploadSchema = z.strictObject({
  sha256: z.string().regex(SHA256_HEX_PATTERN, 'must be the lowercase hex SHA-256 of the archive'),
  size: z.number().int().min(1),
  files: z.number().int().min(0),
  group: groupNameSchema.optional(),
});

export const completeUploadSchema = z.strictObject({
  sha256: z.string().regex(SHA256_HEX_PATTERN, 'must be the lowercase hex SHA-256 of the archive'),
  uploadId: z.string().min(1).max(1024),
  parts: z
    .array(z.strictObject({ partNumber: z.number().int().min(1).max(MAX_UPLOAD_PARTS), etag: z.string().min(1).max(256) }))
    .min(1)
    .max(MAX_UPLOAD_PARTS),
  group: groupNameSchema.optional(),
});

export type CreateUploadResult =
  | { readonly archive: string; readonly exists: true }
  | { readonly archive: string; readonly exists: false; readonly upload: UploadInstructions; readonly expiresInSeconds: number };

export interface UploadServiceOptions {
  readonly archives: WorkdirArchiveStore;
  readonly limits: WorkdirLimits;
  /** How long upload URLs stay valid (default 15 minutes). */
  readonly urlExpirySeconds?: number;
}

/**
 * `POST /v1/uploads`: a client that wants to run a work directory declares its archive (hash, size,
 * file count). Over the limits it is refused before a byte moves; an archive the group already has
 * needs no upload at all; otherwise the answer says where to send the bytes.
 */
export class UploadService {
  private readonly archives: WorkdirArchiveStore;
  private readonly limits: WorkdirLimits;
  private readonly urlExpirySeconds: number;

  constructor(options: UploadServiceOptions) {
    this.archives = options.archives;
    this.limits = options.limits;
    this.urlExpirySeconds = options.urlExpirySeconds ?? 900;
  }

  async createUpload(body: unknown, caller: Caller): Promise<CreateUploadResult> {
    const request = parseOrThrow(createUploadSchema, body, 'upload');
    // Uploading is the first half of submitting: the same permission, in the same group.
    const group = resolveGroup(caller, request.group, 'job:submit');
    if (request.size > this.limits.maxArchiveBytes) {
      throw new UploadTooLargeError(`the archive is ${request.size} bytes; the limit is ${this.limits.maxArchiveBytes}`, {
        size: request.size,
        maxArchiveBytes: this.limits.maxArchiveBytes,
      });
    }
    if (request.files > this.limits.maxFiles) {
      throw new UploadTooLargeError(`the archive holds ${request.files} files; the limit is ${this.limits.maxFiles}`, {
        files: request.files,
        maxFiles: this.limits.maxFiles,
      });
    }
    const archive = archiveId(request.sha256);
    if (await this.archives.exists(group, request.sha256)) return { archive, exists: true };
    const upload = await this.archives.createUpload(group, request.sha256, request.size, this.urlExpirySeconds);
    return { archive, exists: false, upload, expiresInSeconds: this.urlExpirySeconds };
  }

  async completeUpload(body: unknown, caller: Caller): Promise<{ archive: string; exists: true }> {
    const request = parseOrThrow(completeUploadSchema, body, 'upload completion');
    const group = resolveGroup(caller, request.group, 'job:submit');
    await this.archives.completeUpload(group, request.sha256, request.uploadId, request.parts);
    return { archive: archiveId(request.sha256), exists: true };
  }

  /** Whether a job may name this archive: it must exist in the job's own group. */
  exists(group: string, sha256Hex: string): Promise<boolean> {
    return this.archives.exists(group, sha256Hex);
  }
}
