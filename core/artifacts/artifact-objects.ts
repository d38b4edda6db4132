import type { Readable } from 'node:stream';

/** The bytes of artifacts: written by the worker, handed to readers as short-lived URLs. */
export interface ArtifactObjects {
  /** Stores `body` (of `size` bytes) under `key`; resolves with the SHA-256 (hex) of what was sent. */
  put(key: string, body: Readable, size: number): Promise<{ sha256: string }>;
  /** A URL that GETs the object for `expiresInSeconds`, downloading as `fileName`. */
  presignGet(key: string, fileName: string, expiresInSeconds: number): Promise<string>;
}
