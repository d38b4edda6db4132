import { constants, createReadStream } from 'node:fs';
import { open, readdir, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { Minimatch } from 'minimatch';
import type { Clock } from '../ids.ts';
import { artifactObjectKey, isSafeRelativePath, MAX_ARTIFACTS_PER_ATTEMPT, type ArtifactRecord } from '../artifact.ts';
import type { ArtifactObjects } from './artifact-objects.ts';
import type { ArtifactStore } from './artifact-store.ts';

/** Some artifact could not be stored even after retries; the attempt's reason quotes the message. */
export class ArtifactCollectionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ArtifactCollectionError';
  }
}

/**
 * Regular files under `workDir` whose relative path matches one of `patterns` (minimatch globs,
 * dotfiles included), in path order. Symlinks are never followed, neither to files nor to
 * directories: a job cannot make the worker read outside its work directory.
 */
export async function findArtifactFiles(workDir: string, patterns: readonly string[]): Promise<string[]> {
  const matchers = patterns.map((p) => new Minimatch(p, { dot: true, nonegate: true, nocomment: true }));
  const found: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(join(workDir, relative), { withFileTypes: true });
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        // `partial`: could anything below this directory still match?
        if (matchers.some((m) => m.match(path, true))) await walk(path);
      } else if (entry.isFile() && matchers.some((m) => m.match(path))) {
        found.push(path);
        if (found.length > MAX_ARTIFACTS_PER_ATTEMPT) {
          throw new ArtifactCollectionError(`more than ${MAX_ARTIFACTS_PER_ATTEMPT} files match the artifact patterns`);
        }
      }
    }
  };
  if (matchers.length > 0) await walk('');
  return found.filter(isSafeRelativePath).sort();
}

export interface CollectArtifactsOptions {
  readonly jobId: string;
  readonly attempt: number;
  readonly workDir: string;
  readonly patterns: readonly string[];
  readonly objects: ArtifactObjects;
  readonly store: ArtifactStore;
  readonly clock: Clock;
  /** Tries per file before the collection fails (default 3). */
  readonly tries?: number;
  readonly retryDelayMs?: number;
}

/**
 * Uploads every matching file and records them all; resolves only once every record is stored, so
 * an attempt reported finished has its artifacts listed. A file that fails `tries` times fails the
 * whole collection with its path and the last error.
 */
export async function collectArtifacts(options: CollectArtifactsOptions): Promise<ArtifactRecord[]> {
  const paths = await findArtifactFiles(options.workDir, options.patterns);
  const root = await realpath(options.workDir);
  const tries = options.tries ?? 3;
  const records: ArtifactRecord[] = [];
  for (const path of paths) {
    let lastError: unknown;
    let record: ArtifactRecord | undefined;
    for (let attempt = 1; attempt <= tries && !record; attempt++) {
      try {
        record = await uploadOne(options, root, path);
      } catch (err) {
        lastError = err;
        if (err instanceof ArtifactCollectionError) break;
        if (attempt < tries) await new Promise((r) => setTimeout(r, (options.retryDelayMs ?? 500) * 2 ** (attempt - 1)));
      }
    }
    if (!record) {
      const message = lastError instanceof Error ? lastError.message : String(lastError);
      throw new ArtifactCollectionError(`artifact ${path} could not be stored after ${tries} tries: ${message}`, { cause: lastError });
    }
    records.push(record);
  }
  try {
    await options.store.record(records);
  } catch (err) {
    throw new ArtifactCollectionError(`artifact records could not be stored: ${(err as Error).message}`, { cause: err });
  }
  return records;
}

async function uploadOne(options: CollectArtifactsOptions, root: string, path: string): Promise<ArtifactRecord> {
  const full = join(root, path);
  // A directory swapped for a symlink after the walk would lead outside: resolve and check again.
  const resolved = await realpath(full);
  if (!resolved.startsWith(root + sep)) throw new ArtifactCollectionError(`artifact ${path} resolves outside the work directory`);
  const handle = await open(resolved, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new ArtifactCollectionError(`artifact ${path} is not a regular file`);
    const body = createReadStream('', { fd: handle.fd, autoClose: false, start: 0 });
    const { sha256 } = await options.objects.put(artifactObjectKey(options.jobId, options.attempt, path), body, stat.size);
    return { jobId: options.jobId, attempt: options.attempt, path, size: stat.size, sha256, createdAt: options.clock().toISOString() };
  } finally {
    await handle.close();
  }
}
