import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { collectArtifacts } from '../artifacts/collect-artifacts.ts';
import type { ArtifactObjects } from '../artifacts/artifact-objects.ts';
import type { ArtifactStore } from '../artifacts/artifact-store.ts';
import { systemClock, type Clock } from '../ids.ts';
import type { Job } from '../jobs/job.ts';
import { archiveDigest } from '../archive-id.ts';
import { unpackWorkdirArchive } from '../uploads/unpack-workdir-archive.ts';
import { ArchiveNotFoundError, type WorkdirArchiveStore } from '../uploads/workdir-archive-store.ts';
import { DEFAULT_WORKDIR_LIMITS, type WorkdirLimits } from '../workdir-limits.ts';
import type { JobFiles } from './job-files.ts';

export interface StoredJobFilesOptions {
  readonly archives: WorkdirArchiveStore;
  readonly artifactObjects: ArtifactObjects;
  readonly artifactRecords: ArtifactStore;
  readonly limits?: WorkdirLimits;
  readonly clock?: Clock;
  /** Tries per download and per artifact upload (default 3). */
  readonly tries?: number;
  readonly retryDelayMs?: number;
}

class ArchiveContentError extends Error {}

/**
 * Work directories from the archive store, artifacts to the artifacts bucket and their records to
 * the jobs table. The archive is downloaded next to the work directory (never inside it, where the
 * job would see it), its SHA-256 checked against its name, then unpacked (core/uploads/unpack-workdir-archive.ts).
 */
export class StoredJobFiles implements JobFiles {
  private readonly options: StoredJobFilesOptions;
  private readonly limits: WorkdirLimits;
  private readonly tries: number;

  constructor(options: StoredJobFilesOptions) {
    this.options = options;
    this.limits = options.limits ?? DEFAULT_WORKDIR_LIMITS;
    this.tries = options.tries ?? 3;
  }

  async prepare(job: Job, workDir: string): Promise<string | undefined> {
    if (!job.workdir) return undefined;
    const archive = job.workdir.archive;
    const file = `${workDir}.archive.tar.gz`;
    try {
      let lastError: unknown;
      for (let attempt = 1; attempt <= this.tries; attempt++) {
        try {
          await this.download(job.group, archiveDigest(archive), file);
          lastError = undefined;
          break;
        } catch (err) {
          lastError = err;
          if (err instanceof ArchiveNotFoundError || err instanceof ArchiveContentError) break;
          await new Promise((r) => setTimeout(r, (this.options.retryDelayMs ?? 500) * 2 ** (attempt - 1)));
        }
      }
      if (lastError instanceof ArchiveNotFoundError) return `work directory archive ${archive} does not exist`;
      if (lastError instanceof ArchiveContentError) return `work directory archive ${archive} is corrupt: ${lastError.message}`;
      if (lastError) return `work directory archive ${archive} could not be downloaded: ${(lastError as Error).message}`;
      try {
        await unpackWorkdirArchive(file, workDir, this.limits);
      } catch (err) {
        return `work directory archive ${archive} is corrupt or refused: ${(err as Error).message}`;
      }
      return undefined;
    } finally {
      await rm(file, { force: true });
    }
  }

  private async download(group: string, sha256Hex: string, file: string): Promise<void> {
    const body = await this.options.archives.open(group, sha256Hex);
    const hash = createHash('sha256');
    let bytes = 0;
    const max = this.limits.maxArchiveBytes;
    const counting = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (bytes > max) return done(new ArchiveContentError(`larger than the ${max}-byte limit`));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(body, counting, createWriteStream(file, { mode: 0o600 }));
    const actual = hash.digest('hex');
    if (actual !== sha256Hex) throw new ArchiveContentError(`its content hashes to sha256:${actual}`);
  }

  async collect(job: Job, workDir: string): Promise<string | undefined> {
    if (job.artifacts.length === 0) return undefined;
    try {
      await collectArtifacts({
        jobId: job.id,
        attempt: job.attempt,
        workDir,
        patterns: job.artifacts,
        objects: this.options.artifactObjects,
        store: this.options.artifactRecords,
        clock: this.options.clock ?? systemClock,
        tries: this.tries,
        ...(this.options.retryDelayMs !== undefined ? { retryDelayMs: this.options.retryDelayMs } : {}),
      });
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }
}
