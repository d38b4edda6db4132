/**
 * Work directory archives are content-addressed: their id is `sha256:<hex>` of the archive's bytes,
 * so the same tree packed twice is stored once and a job names exactly the bytes it runs.
 */
export const ARCHIVE_ID_PATTERN = /^sha256:[0-9a-f]{64}$/;
export const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;

export function archiveId(sha256Hex: string): string {
  return `sha256:${sha256Hex}`;
}

export function archiveDigest(id: string): string {
  return id.slice('sha256:'.length);
}

/** Where a group's archive lives in the artifacts bucket: per group, so one group cannot run another's code by its hash. */
export function archiveObjectKey(group: string, sha256Hex: string): string {
  return `workdirs/${encodeURIComponent(group)}/${sha256Hex}.tar.gz`;
}
