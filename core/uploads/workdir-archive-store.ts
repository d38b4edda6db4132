import type { Readable } from 'node:stream';
import { DomainError } from '../errors.ts';

/** How the client sends an archive's bytes: one presigned PUT, or presigned parts and a completion call. */
export type UploadInstructions =
  | {
      readonly kind: 'put';
      readonly url: string;
      /** Headers the PUT must carry exactly (they are part of the signature). */
      readonly headers: Readonly<Record<string, string>>;
    }
  | {
      readonly kind: 'multipart';
      readonly uploadId: string;
      readonly partBytes: number;
      readonly parts: readonly { readonly partNumber: number; readonly url: string }[];
    };

export interface CompletedPart {
  readonly partNumber: number;
  readonly etag: string;
}

/**
 * Where work directory archives are kept (content-addressed, per group). The API asks it whether an
 * archive exists and how to upload one; the worker reads archives back.
 */
export interface WorkdirArchiveStore {
  exists(group: string, sha256Hex: string): Promise<boolean>;
  createUpload(group: string, sha256Hex: string, size: number, expiresInSeconds: number): Promise<UploadInstructions>;
  completeUpload(group: string, sha256Hex: string, uploadId: string, parts: readonly CompletedPart[]): Promise<void>;
  /** The archive's bytes; throws ArchiveNotFoundError when there is none. */
  open(group: string, sha256Hex: string): Promise<Readable>;
}

export class ArchiveNotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  constructor(readonly archive: string) {
    super(`work directory archive ${archive} does not exist`, { archive });
  }
}

/** A declared upload over the configured limits: refused before any byte is sent. */
export class UploadTooLargeError extends DomainError {
  readonly code = 'UPLOAD_TOO_LARGE';
  constructor(message: string, details: Record<string, unknown>) {
    super(message, details);
  }
}
