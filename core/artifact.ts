import * as z from 'zod';

/** Artifact files one attempt may store, and the patterns a job may name. */
export const MAX_ARTIFACTS_PER_ATTEMPT = 1000;
export const MAX_ARTIFACT_PATTERNS = 64;
/** Bytes of a path relative to the work directory (S3 keys allow 1024 with the prefix). */
export const MAX_ARTIFACT_PATH_BYTES = 800;

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** A relative path that cannot leave the work directory once joined to it. */
export function isSafeRelativePath(path: string): boolean {
  if (path === '' || CONTROL_CHARS.test(path) || path.startsWith('/') || path.includes('\\')) return false;
  if (Buffer.byteLength(path, 'utf8') > MAX_ARTIFACT_PATH_BYTES) return false;
  return path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/** `artifacts` of a job spec: globs relative to the work directory (`out/**`, `metrics.json`). */
export const artifactPatternsSchema = z
  .array(
    z
      .string()
      .min(1)
      .max(256)
      .refine((p) => isSafeRelativePath(p), 'must be a relative path or glob inside the work directory (no "..", no leading "/")'),
  )
  .max(MAX_ARTIFACT_PATTERNS);

/** One stored file of one attempt, as recorded (the jobs table) and returned by the API. */
export interface ArtifactRecord {
  readonly jobId: string;
  readonly attempt: number;
  /** Relative to the work directory, `/`-separated. */
  readonly path: string;
  readonly size: number;
  /** Lowercase hex SHA-256 of the bytes stored. */
  readonly sha256: string;
  readonly createdAt: string;
}

export function artifactView(record: ArtifactRecord) {
  return { path: record.path, size: record.size, sha256: record.sha256, attempt: record.attempt, createdAt: record.createdAt };
}
export type ArtifactView = ReturnType<typeof artifactView>;

/** Where an artifact's bytes live in the artifacts bucket: under its job and attempt, which the worker's grant is limited to. */
export function artifactObjectKey(jobId: string, attempt: number, path: string): string {
  return `artifacts/${jobId}/${attempt}/${path}`;
}
