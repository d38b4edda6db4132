import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { logArchiveKeys, type LogArchiveStore, type OutputArchiveRecord } from '../events/log-archive.ts';
import { archivingSink, OutputArchiveWriter } from '../events/output-archive-writer.ts';
import type { EventSink } from '../events/store.ts';

type Log = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

/** Upload tries before the attempt ends without an archive (its events then live until their TTL). */
const UPLOAD_TRIES = 6;

/**
 * One attempt's log archive, seen from the worker: it taps the events as they are stored and, when
 * the attempt ends, uploads them as one gzip object with its index (in its metadata, or beside it),
 * before the final state is written.
 */
export class AttemptLogArchive {
  private readonly writer: OutputArchiveWriter;

  constructor(
    private readonly store: LogArchiveStore,
    private readonly jobId: string,
    private readonly attempt: number,
    private readonly spoolDir: string,
    private readonly log: Log,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.writer = new OutputArchiveWriter({ jobId, attempt, spoolPath: join(spoolDir, 'archive.gz') });
  }

  /** Removes the local spool (call when the attempt is over, uploaded or not). */
  async dispose(): Promise<void> {
    await rm(this.spoolDir, { recursive: true, force: true }).catch(() => undefined);
  }

  /** The sink the batcher writes to: the events store, then the archive. */
  sink(events: EventSink): EventSink {
    return archivingSink(events, this.writer);
  }

  /** Call after the batcher closed (every event stored). Undefined when no archive could be made. */
  async upload(): Promise<OutputArchiveRecord | undefined> {
    const finished = await this.writer.finish();
    if (!finished) {
      this.log('error', 'log archive could not be built; the output stays in the events only', { jobId: this.jobId, attempt: this.attempt, error: String(this.writer.failed) });
      return undefined;
    }
    const keys = logArchiveKeys(this.jobId, this.attempt);
    for (let tries = 1; ; tries++) {
      try {
        const { indexKey } = await this.store.put(keys, finished.spoolPath, finished.index);
        return { ...keys, indexKey, bytes: finished.index.bytes, lastSeq: finished.index.events.at(-1)?.seq ?? 0, sha256: finished.sha256 };
      } catch (err) {
        if (tries >= UPLOAD_TRIES) {
          this.log('error', 'log archive upload failed; the output stays in the events only', { jobId: this.jobId, attempt: this.attempt, error: String(err) });
          return undefined;
        }
        await this.sleep(Math.min(8_000, 250 * 2 ** tries));
      }
    }
  }
}
