import { gunzipSync } from 'node:zlib';
import type { JobEvent } from './event.ts';
import { indexInMetadata, type ArchiveIndex, type ArchivedEventEntry, type LogArchiveStore, type OutputArchiveRecord } from './log-archive.ts';
import type { EventPage } from './store.ts';

/** Output bytes per archived page: about what one DynamoDB Query page (1 MB) returns. */
const PAGE_BYTES = 1024 * 1024;
/** Indexes are immutable once written: a few recent ones stay cached per process. */
const INDEX_CACHE_SIZE = 32;
/**
 * An archive of at most this much output whose index rides in its metadata is read whole, index
 * and bytes in one GET (a ranged GET after a HEAD would be two requests for a few KB).
 */
const WHOLE_READ_BYTES = PAGE_BYTES;

/** An archive's index, and its stored bytes when they were read whole. */
interface LoadedArchive {
  readonly index: ArchiveIndex;
  readonly whole?: Buffer;
}

/**
 * Reads an archived attempt (log-archive.ts) with the event store's cursors: the same events,
 * seqs and pages (`next`, `hasMore`) as the events table had, and exactly the same bytes.
 */
export class ArchivedEventReader {
  private readonly store: LogArchiveStore;
  private readonly archives = new Map<string, Promise<LoadedArchive>>();

  constructor(store: LogArchiveStore) {
    this.store = store;
  }

  async list(record: OutputArchiveRecord, query: { afterSeq?: number; limit: number }): Promise<EventPage> {
    const loaded = await this.load(record);
    const { index } = loaded;
    const afterSeq = query.afterSeq ?? 0;
    const start = firstAfter(index.events, afterSeq);
    const page: ArchivedEventEntry[] = [];
    let bytes = 0;
    for (let i = start; i < index.events.length && page.length < query.limit; i++) {
      const entry = index.events[i]!;
      const size = entry.kind === 'output' ? entry.length : 0;
      if (page.length > 0 && bytes + size > PAGE_BYTES) break;
      page.push(entry);
      bytes += size;
    }
    const events = await this.materialize(record, loaded, page);
    const end = start + page.length;
    return { events, next: page.at(-1)?.seq ?? afterSeq, hasMore: end < index.events.length };
  }

  /** The output from the start, at most `maxBytes` of it, cut after the last whole event that fits. */
  async readBytes(record: OutputArchiveRecord, maxBytes: number): Promise<{ bytes: Buffer; truncated: boolean; next: number }> {
    const loaded = await this.load(record);
    let end = 0;
    let next = 0;
    for (const entry of loaded.index.events) {
      if (entry.kind === 'output') {
        if (entry.offset + entry.length > maxBytes) return { bytes: await this.raw(record, loaded, 0, end), truncated: true, next };
        end = entry.offset + entry.length;
      }
      next = entry.seq;
    }
    return { bytes: await this.raw(record, loaded, 0, end), truncated: false, next };
  }

  private load(record: OutputArchiveRecord): Promise<LoadedArchive> {
    let cached = this.archives.get(record.key);
    if (!cached) {
      cached = indexInMetadata(record) && record.bytes <= WHOLE_READ_BYTES
        ? this.store.getWhole(record.key).then(({ bytes, index }) => ({ index, whole: bytes }))
        : this.store.getIndex(record).then((index) => ({ index }));
      cached.catch(() => this.archives.delete(record.key));
      if (this.archives.size >= INDEX_CACHE_SIZE) this.archives.delete(this.archives.keys().next().value!);
      this.archives.set(record.key, cached);
    }
    return cached;
  }

  private async materialize(record: OutputArchiveRecord, loaded: LoadedArchive, entries: readonly ArchivedEventEntry[]): Promise<JobEvent[]> {
    const { index } = loaded;
    const outputs = entries.filter((e) => e.kind === 'output');
    const lo = outputs[0]?.offset ?? 0;
    const last = outputs.at(-1);
    const raw = outputs.length > 0 ? await this.raw(record, loaded, lo, last!.offset + last!.length) : Buffer.alloc(0);
    const common = { jobId: index.jobId, attempt: index.attempt };
    return entries.map((e): JobEvent => {
      if (e.kind === 'lifecycle') return { ...common, seq: e.seq, ts: e.ts, kind: 'lifecycle', name: e.name, details: e.details };
      const data = raw.subarray(e.offset - lo, e.offset - lo + e.length);
      return {
        ...common,
        seq: e.seq,
        ts: e.ts,
        kind: 'output',
        stream: e.stream,
        // The batcher cut text only between UTF-8 sequences, so a text event decodes exactly.
        ...(e.encoding === 'base64' ? { data: data.toString('base64'), encoding: 'base64' as const } : { data: data.toString('utf8') }),
      };
    });
  }

  /** Uncompressed output bytes [from, to): one ranged GET of the members that hold them (none when read whole). */
  private async raw(record: OutputArchiveRecord, loaded: LoadedArchive, from: number, to: number): Promise<Buffer> {
    if (to <= from) return Buffer.alloc(0);
    const members = loaded.index.members.filter((m) => m.rawOffset < to && m.rawOffset + m.rawLength > from);
    const first = members[0];
    const last = members.at(-1);
    if (!first || !last) throw new Error(`archive ${record.key} has no member for bytes ${from}..${to}`);
    const compressed = loaded.whole
      ? loaded.whole.subarray(first.offset, last.offset + last.length)
      : await this.store.getRange(record.key, first.offset, last.offset + last.length - 1);
    const bytes = gunzipSync(compressed);
    return bytes.subarray(from - first.rawOffset, to - first.rawOffset);
  }
}

/** Index of the first entry with seq > afterSeq (seqs are contiguous from 1, so usually `afterSeq`). */
function firstAfter(events: readonly ArchivedEventEntry[], afterSeq: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (events[mid]!.seq <= afterSeq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
