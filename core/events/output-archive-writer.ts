import { createHash } from 'node:crypto';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { deflatedOutput, DEFLATE_MIN_BYTES, gzipMember } from './deflated-output.ts';
import { outputEventBytes, type JobEvent } from './event.ts';
import type { ArchiveIndex, ArchiveMember, ArchivedEventEntry } from './log-archive.ts';
import type { EventSink } from './store.ts';

const gzipAsync = promisify(gzip);

/**
 * Small events are gathered into gzip members of about this much output: large enough to compress
 * well, small enough that a ranged read is cheap. An event of DEFLATE_MIN_BYTES or more is a member
 * of its own, made from the DEFLATE stream its item already carries.
 */
export const DEFAULT_MEMBER_BYTES = 1024 * 1024;

export interface OutputArchiveWriterOptions {
  readonly jobId: string;
  readonly attempt: number;
  /** Local file the gzip output is built in (the attempt's capture directory). */
  readonly spoolPath: string;
  readonly memberBytes?: number;
}

export interface FinishedArchive {
  readonly spoolPath: string;
  readonly index: ArchiveIndex;
  readonly sha256: string;
}

/**
 * Builds an attempt's archive (log-archive.ts) from the events as they are stored, so the archive
 * holds exactly what the events table holds, in the same seqs. Memory stays at one member of
 * output plus the index; the gzip output is spooled to a local file and uploaded when the attempt
 * ends. A failure here (disk full) never stops the events: the writer marks itself failed and the
 * attempt simply has no archive (its events remain until their TTL).
 */
export class OutputArchiveWriter {
  private readonly options: OutputArchiveWriterOptions;
  private readonly memberBytes: number;
  private readonly events: ArchivedEventEntry[] = [];
  private readonly members: ArchiveMember[] = [];
  private readonly hash = createHash('sha256');
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private rawBytes = 0;
  private compressedBytes = 0;
  private lastSeq = 0;
  private file: FileHandle | undefined;
  private failure: unknown;
  /** Serializes add() and finish() (the tee calls add() once per stored batch, in order). */
  private chain: Promise<void> = Promise.resolve();

  constructor(options: OutputArchiveWriterOptions) {
    this.options = options;
    this.memberBytes = options.memberBytes ?? DEFAULT_MEMBER_BYTES;
  }

  /** Why the archive could not be built, if it could not. */
  get failed(): unknown {
    return this.failure;
  }

  /** Adds stored events; seqs already added (a retried batch) are skipped. */
  add(events: readonly JobEvent[]): Promise<void> {
    this.chain = this.chain.then(() => this.addNow(events)).catch((err: unknown) => {
      this.failure ??= err;
    });
    return this.chain;
  }

  /** Writes the last member and closes the spool; undefined when the archive failed. */
  async finish(): Promise<FinishedArchive | undefined> {
    await this.chain;
    try {
      await this.flushMember();
      // No output at all: still a valid (empty) gzip file, so a download works the same.
      if (this.members.length === 0) await this.appendMember(Buffer.alloc(0));
    } catch (err) {
      this.failure ??= err;
    }
    await this.file?.close().catch(() => undefined);
    this.file = undefined;
    if (this.failure) return undefined;
    const { jobId, attempt } = this.options;
    return {
      spoolPath: this.options.spoolPath,
      sha256: this.hash.digest('hex'),
      index: { version: 1, jobId, attempt, bytes: this.rawBytes, events: this.events, members: this.members },
    };
  }

  private async addNow(events: readonly JobEvent[]): Promise<void> {
    if (this.failure) return;
    for (const event of events) {
      if (event.seq <= this.lastSeq) continue;
      if (event.seq !== this.lastSeq + 1) throw new Error(`archive of ${event.jobId}#${event.attempt} got seq ${event.seq} after ${this.lastSeq}`);
      this.lastSeq = event.seq;
      if (event.kind === 'lifecycle') {
        this.events.push({ seq: event.seq, ts: event.ts, kind: 'lifecycle', name: event.name, details: event.details });
        continue;
      }
      const bytes = outputEventBytes(event);
      this.events.push({
        seq: event.seq,
        ts: event.ts,
        kind: 'output',
        stream: event.stream,
        ...(event.encoding ? { encoding: event.encoding } : {}),
        offset: this.rawBytes,
        length: bytes.length,
      });
      this.hash.update(bytes);
      if (bytes.length >= DEFLATE_MIN_BYTES) {
        // Large enough to be its own member: the DEFLATE stream the event store made for the item
        // (deflated-output.ts), wrapped, instead of compressing the same bytes a second time.
        const z = await deflatedOutput(event);
        await this.flushMember();
        this.rawBytes += bytes.length;
        await this.appendCompressed(gzipMember(bytes, z), bytes.length);
        continue;
      }
      this.rawBytes += bytes.length;
      this.pending.push(bytes);
      this.pendingBytes += bytes.length;
      if (this.pendingBytes >= this.memberBytes) await this.flushMember();
    }
  }

  private async flushMember(): Promise<void> {
    if (this.failure || this.pendingBytes === 0) return;
    const raw = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    await this.appendMember(raw);
  }

  private async appendMember(raw: Buffer): Promise<void> {
    await this.appendCompressed(await gzipAsync(raw), raw.length);
  }

  /** Appends one gzip member holding the last `rawLength` bytes of output. */
  private async appendCompressed(compressed: Buffer, rawLength: number): Promise<void> {
    if (!this.file) {
      await mkdir(dirname(this.options.spoolPath), { recursive: true });
      this.file = await open(this.options.spoolPath, 'w', 0o600);
    }
    await this.file.write(compressed, 0, compressed.length, this.compressedBytes);
    this.members.push({ offset: this.compressedBytes, length: compressed.length, rawOffset: this.rawBytes - rawLength, rawLength });
    this.compressedBytes += compressed.length;
  }
}

/** A sink that stores events, then hands them to the archive writer: the archive sees only stored events. */
export function archivingSink(sink: EventSink, writer: OutputArchiveWriter): EventSink {
  return {
    append: async (events) => {
      await sink.append(events);
      await writer.add(events);
    },
  };
}
