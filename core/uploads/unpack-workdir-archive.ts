import { posix } from 'node:path';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar';
import type { WorkdirLimits } from '../workdir-limits.ts';

/** The archive cannot become a work directory: corrupt, hostile or over the limits. The message says which. */
export class WorkdirArchiveError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WorkdirArchiveError';
  }
}

const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink']);

/** A relative path that stays below the root: no absolute path, no `..`, no empty or NUL-bearing name. */
export function isContainedPath(path: string): boolean {
  if (path === '' || path.includes('\0') || path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.includes('\\')) return false;
  const normal = posix.normalize(path);
  return normal !== '..' && !normal.startsWith('../') && !normal.startsWith('/');
}

/**
 * Unpacks a work directory archive (tar.gz) into `dest`, which must be empty. The archive comes from
 * a user and is treated as hostile, so it is read twice: first every entry is checked (types:
 * files, directories and symlinks only; paths and symlink targets inside `dest`; no entry below a
 * symlink; file count and total size within the limits), and only an archive that passes is
 * extracted. Modes are kept (an executable script stays executable) minus setuid, setgid and sticky
 * bits; owners are not.
 */
export async function unpackWorkdirArchive(file: string, dest: string, limits: WorkdirLimits): Promise<{ files: number; bytes: number }> {
  const problems: string[] = [];
  const symlinks: string[] = [];
  let files = 0;
  let bytes = 0;
  try {
    // The gzip layer is ours, in a pipeline: a corrupt stream then rejects here instead of
    // surfacing as an uncaught error from inside tar's own file reader.
    await pipeline(createReadStream(file), createGunzip(), tar.t({
      strict: true,
      onReadEntry: (entry) => {
        files++;
        bytes += entry.size ?? 0;
        const path = entry.path;
        if (!ALLOWED_TYPES.has(entry.type)) problems.push(`${JSON.stringify(path)} is a ${entry.type}, not a file, directory or symlink`);
        else if (!isContainedPath(path)) problems.push(`${JSON.stringify(path)} points outside the work directory`);
        else if (entry.type === 'SymbolicLink') {
          const target = entry.linkpath ?? '';
          if (target.startsWith('/') || !isContainedPath(posix.join(posix.dirname(path), target))) {
            problems.push(`symlink ${JSON.stringify(path)} points outside the work directory (${JSON.stringify(target)})`);
          }
          symlinks.push(posix.normalize(path).replace(/\/$/, ''));
        }
        const normal = posix.normalize(path);
        if (symlinks.some((link) => normal.startsWith(`${link}/`))) problems.push(`${JSON.stringify(path)} lies below a symlink`);
        entry.resume();
      },
    }));
  } catch (err) {
    throw new WorkdirArchiveError(`not a valid tar.gz archive (${(err as Error).message})`, { cause: err });
  }
  if (files > limits.maxFiles) throw new WorkdirArchiveError(`holds ${files} entries; the limit is ${limits.maxFiles}`);
  if (bytes > limits.maxUnpackedBytes) throw new WorkdirArchiveError(`unpacks to ${bytes} bytes; the limit is ${limits.maxUnpackedBytes}`);
  if (problems.length > 0) throw new WorkdirArchiveError(`refused: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`);
  try {
    await pipeline(createReadStream(file), createGunzip(), tar.x({
      cwd: dest,
      strict: true,
      preservePaths: false,
      preserveOwner: false,
      // Special bits from a stranger's archive are never wanted; rwx for user, group, other is.
      umask: 0o7000,
      processUmask: 0o022,
      filter: (_path, entry) => ALLOWED_TYPES.has((entry as tar.ReadEntry).type),
    }));
  } catch (err) {
    throw new WorkdirArchiveError(`could not be unpacked (${(err as Error).message})`, { cause: err });
  }
  return { files, bytes };
}
