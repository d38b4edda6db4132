/**
 * `runplane artifacts <id> [--attempt N]`: the files an attempt stored (the latest attempt by
 * default). Output: a table (path, size, SHA-256 prefix, attempt, time); `--json`: the list.
 */
import type { Command } from 'commander';
import type { ArtifactInfo } from '../api-client.ts';
import type { RegisterCommand } from '../command-context.ts';
import { formatTable, formatTimestamp } from '../format.ts';
import { parsePositiveInt } from '../options.ts';
import { listAllArtifacts } from './download.ts';

export const registerArtifacts: RegisterCommand = (command, context) => {
  const { output } = context;
  command
    .argument('<id>', 'job id')
    .option('--attempt <n>', 'the attempt (default: the latest)', parsePositiveInt)
    .action(async (id: string, options: { attempt?: number }, cmd: Command) => {
      const { client, json } = await context.connect(cmd);
      const artifacts = await listAllArtifacts(client, id, options.attempt);
      await (json ? output.printJson({ artifacts }) : output.out(formatArtifactTable(artifacts)));
    });
};

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
  if (artifacts.length === 0) return 'no artifacts\n';
  return formatTable(
    ['PATH', 'SIZE', 'SHA256', 'ATTEMPT', 'CREATED'],
    artifacts.map((a) => [a.path, formatBytes(a.size), a.sha256.slice(0, 12), String(a.attempt), formatTimestamp(a.createdAt)]),
  );
}
