/**
 * Bounds on a job's work directory, checked three times: by the CLI before it packs anything, by
 * `POST /v1/uploads` on the declared size and file count before any byte is uploaded, and by the
 * worker while it unpacks (a hostile archive can declare anything).
 */
export interface WorkdirLimits {
  /** Bytes of the compressed archive. */
  readonly maxArchiveBytes: number;
  /** Entries (files, directories, links) in the archive. */
  readonly maxFiles: number;
  /** Bytes of all files once unpacked: a gzip bomb stops here. */
  readonly maxUnpackedBytes: number;
}

export const DEFAULT_WORKDIR_LIMITS: WorkdirLimits = {
  maxArchiveBytes: 1024 * 1024 * 1024,
  maxFiles: 100_000,
  maxUnpackedBytes: 4 * 1024 * 1024 * 1024,
};

/**
 * Archives above this are uploaded in parts. 8 MiB: S3's parts must be at least 5 MiB, and the
 * local emulator (fauxqs) takes request bodies up to 11 MiB.
 */
export const UPLOAD_PART_BYTES = 8 * 1024 * 1024;

/** A single presigned PUT carries at most 5 GiB (S3's limit); the archive limit stays far below. */
export const MAX_UPLOAD_PARTS = 10_000;
