import type { ArtifactInfo } from '../api-client.ts';
import { formatTable, formatTimestamp } from '../format.ts';

/** Sizes as people read them: `512 B`, `4.0 KiB`, `1.5 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `runplane artifacts ID`: one row per file (the hash shortened; `--json` has it whole). */
export function formatArtifactTable(artifacts: readonly ArtifactInfo[]): string {
  if (artifacts.length === 0) return 'no artifacts';
  return formatTable(
    ['PATH', 'SIZE', 'SHA256', 'ATTEMPT', 'CREATED'],
    artifacts.map((a) => [a.path, formatBytes(a.size), a.sha256.slice(0, 12), String(a.attempt), formatTimestamp(a.createdAt)]),
  );
}
