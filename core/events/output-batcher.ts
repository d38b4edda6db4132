import type { JobEvent, OutputStream } from './event.ts';
import { OUTPUT_STREAMS } from './event.ts';
import { assertWithinItemLimit, dynamoItemSizeBytes, eventToItem, ISO_TIMESTAMP_LENGTH, MAX_ATTEMPT, MAX_EXPIRES_AT, maxOutputDataBytes } from './item-size.ts';
import type { EventSink } from './store.ts';
import { splitUtf8 } from './utf8-segments.ts';

/*
 * OutputBatcher: turns a job's stdout/stderr bytes and lifecycle records into job events and
 * writes them to an EventSink (the event store) in order, without ever losing or repeating one.
 *
 * Events
 * - Each stream's bytes are split into valid UTF-8 (text events) and bytes that are not UTF-8
 *   (binary events: `encoding: 'base64'`), only ever between UTF-8 sequences: a character split
 *   across two reads is joined (its first bytes wait in a per-stream carry), so valid text stays
 *   text. Concatenating the decoded `data` of output events in seq order gives back exactly the
 *   bytes the process wrote, whatever they were.
 * - One seq sequence per attempt (from `firstSeq`, default 1) across both streams and lifecycle
 *   events, assigned when an event is opened: contiguous, no gaps, no duplicates, retries included.
 * - Consecutive output of one stream is coalesced into one event while it fits in
 *   maxOutputDataBytes() (the 400 KB item limit minus the worst-case size of the other
 *   attributes). Output of the other stream, a lifecycle event or a flush closes the open event.
 * - When output does not fit, the event is cut at the last line boundary that fits; a line longer
 *   than an item is cut at the last whole character that fits (never inside a UTF-8 sequence or
 *   a surrogate pair). A flush may still end an event mid-line: a line written slowly (a progress
 *   bar) is shown as it comes rather than held back.
 * - `ts` is when the first character of the event was received (the injected clock).
 *
 * Flush
 * - A timer armed when an event opens writes everything pending `flushIntervalMs` later, so output
 *   is stored (visible to followers) within flushIntervalMs plus one write. A full batch
 *   (`maxBatchItems` closed events), flush(), close() and crossing the high-water mark write at once.
 * - Output nobody follows can wait longer: with `unwatchedFlushIntervalMs`, the timer uses that
 *   interval unless watchUntil() said someone follows the output now (the worker learns it from
 *   the job, specs/05-output-batching.md decision 17). A watch that begins while a long timer is
 *   armed writes what is pending at once.
 * - At most one sink write is in flight, so events are stored in seq order.
 *
 * Retry
 * - A failed write keeps its events: they stay at the head of the queue and are sent again after
 *   retryDelayMs(n) (exponential backoff with jitter by default), for as long as it takes.
 *   Events are dropped only by abort(). (Our predecessors cleared the buffer on a failed write and
 *   lost output of jobs reported done.) The sink must be idempotent per seq, since a write that
 *   failed may have been partly stored.
 *
 * Back-pressure
 * - write() returns false once the bytes not yet stored reach `highWaterBytes`; the caller pauses
 *   the process's pipe until waitForDrain() resolves (stored bytes fell below the mark again).
 *   Output is slowed, never discarded.
 *
 * Shutdown
 * - close() writes any trailing incomplete sequence (as binary), stops the timer and resolves only when every
 *   event is stored: a job is never reported finished before its output is. It rejects with
 *   OutputAbortedError if abort() is called first.
 * - abort() is for a worker that lost its lease (a newer attempt owns the job): it stops all
 *   writing, rejects pending flush()/close() and returns how many events were not known stored.
 *   Later writes are ignored.
 */

/** See OutputBatcherOptions.maxEventDataBytes. */
export const DEFAULT_MAX_EVENT_DATA_BYTES = 64 * 1024;
/** See OutputBatcherOptions.highWaterBytes. */
export const DEFAULT_HIGH_WATER_BYTES = 2 * 1024 * 1024;

export interface OutputBatcherOptions {
  readonly sink: EventSink;
  readonly jobId: string;
  readonly attempt: number;
  /** Default () => new Date(). */
  readonly clock?: () => Date;
  /** Default 200: output is stored (visible to followers) within this plus one write. */
  readonly flushIntervalMs?: number;
  /**
   * The interval while nobody follows the output (see watchUntil); default flushIntervalMs. It
   * bounds how much output a worker that dies without warning takes with it.
   */
  readonly unwatchedFlushIntervalMs?: number;
  /** Default 2 MiB of output not yet stored: at or above it write() returns false. */
  readonly highWaterBytes?: number;
  /**
   * Largest `data` of one output event, in UTF-8 bytes; default 64 KiB, never above what fits in
   * one DynamoDB item. Smaller events keep a batch (25 of them) to ~1.6 MB, which bounds the
   * worker's memory while output streams; cost is the same (write units are per KB either way).
   */
  readonly maxEventDataBytes?: number;
  /** Events per sink write; default 25 (one BatchWriteItem). */
  readonly maxBatchItems?: number;
  /** Delay before retry n (1-based) of a failed sink write. */
  readonly retryDelayMs?: (attempt: number) => number;
  /** Seq of the first event; default 1. */
  readonly firstSeq?: number;
  /** Told about each failed sink write (for logging); the write is retried regardless. */
  readonly onWriteError?: (error: unknown, failures: number) => void;
}

/** Thrown by flush() and close() when abort() gave up on events they were waiting for. */
export class OutputAbortedError extends Error {
  constructor(readonly discarded: number) {
    super(`output batcher aborted with ${discarded} events not stored`);
    this.name = 'OutputAbortedError';
  }
}

/** Exponential backoff from 100 ms to 10 s, with half of it jittered so retries of many workers spread out. */
export function defaultRetryDelayMs(attempt: number): number {
  const ceiling = Math.min(10_000, 100 * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** The longest prefix of `s` that takes at most `maxBytes` in UTF-8, ending on a character boundary. */
function utf8Prefix(s: string, maxBytes: number): { chars: number; bytes: number } {
  let bytes = 0;
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    let width = 3;
    let units = 1;
    if (c < 0x80) width = 1;
    else if (c < 0x800) width = 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      width = 4;
      units = 2;
    }
    // (A lone surrogate is encoded as U+FFFD: 3 bytes.)
    if (bytes + width > maxBytes) break;
    bytes += width;
    i += units;
  }
  return { chars: i, bytes };
}

const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

interface PendingEvent {
  readonly event: JobEvent;
  /** Bytes it holds against the high-water mark. */
  readonly bytes: number;
}

/** The output event still growing: always the newest event. */
interface OpenOutput {
  readonly seq: number;
  readonly stream: OutputStream;
  readonly ts: string;
  readonly capacity: number;
  data: string;
  bytes: number;
  /** Index just past the last '\n' in `data` (-1: none yet). */
  lineStart: number;
  /** When the character at `lineStart` was received; undefined while `data` ends with the newline. */
  lineStartTs: string | undefined;
  /** A binary event's bytes (`data` stays empty until sealed); null for text. */
  readonly binary: Buffer[] | null;
}

interface FlushWaiter {
  readonly target: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class OutputBatcher {
  private readonly sink: EventSink;
  private readonly jobId: string;
  private readonly attempt: number;
  private readonly clock: () => Date;
  private readonly flushIntervalMs: number;
  private readonly unwatchedFlushIntervalMs: number;
  /** Epoch ms until which someone follows the output. */
  private watchedUntilMs = 0;
  private readonly highWaterBytes: number;
  private readonly maxBatchItems: number;
  private readonly retryDelayMs: (attempt: number) => number;
  private readonly onWriteError: ((error: unknown, failures: number) => void) | undefined;
  private readonly maxDataBytes: number;
  /** Largest base64 `data` of a binary event (it also carries `encoding`). */
  private readonly maxBinaryDataChars: number;
  /** Per stream, the first bytes of a UTF-8 sequence the next read may complete. */
  private readonly carry: Record<OutputStream, Buffer> = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };

  private open: OpenOutput | null = null;
  /** Closed events not yet stored, in seq order; the head is what is being written or retried. */
  private sealed: PendingEvent[] = [];
  private pendingBytes = 0;
  private nextSeq: number;
  private stored: number;
  /** Events up to this seq are due now (timer fired, flush, close, high water). */
  private flushUpTo = 0;
  private writing = false;
  private failures = 0;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private flushWaiters: FlushWaiter[] = [];
  private drainWaiters: (() => void)[] = [];
  private closing: Promise<void> | null = null;
  private aborted = false;

  constructor(options: OutputBatcherOptions) {
    const { jobId, attempt, firstSeq = 1, flushIntervalMs = 200, highWaterBytes = DEFAULT_HIGH_WATER_BYTES, maxBatchItems = 25 } = options;
    if (jobId.length === 0) throw new RangeError('jobId must not be empty');
    if (!Number.isInteger(attempt) || attempt < 1 || attempt > MAX_ATTEMPT) throw new RangeError(`attempt must be an integer in 1..${MAX_ATTEMPT}`);
    if (!Number.isInteger(firstSeq) || firstSeq < 1) throw new RangeError('firstSeq must be a positive integer');
    if (!(flushIntervalMs >= 0)) throw new RangeError('flushIntervalMs must be >= 0');
    const unwatchedFlushIntervalMs = options.unwatchedFlushIntervalMs ?? flushIntervalMs;
    if (!(unwatchedFlushIntervalMs >= flushIntervalMs)) throw new RangeError('unwatchedFlushIntervalMs must be >= flushIntervalMs');
    if (!(highWaterBytes > 0)) throw new RangeError('highWaterBytes must be positive');
    if (!Number.isInteger(maxBatchItems) || maxBatchItems < 1) throw new RangeError('maxBatchItems must be a positive integer');
    this.sink = options.sink;
    this.jobId = jobId;
    this.attempt = attempt;
    this.clock = options.clock ?? (() => new Date());
    this.flushIntervalMs = flushIntervalMs;
    this.unwatchedFlushIntervalMs = unwatchedFlushIntervalMs;
    this.highWaterBytes = highWaterBytes;
    this.maxBatchItems = maxBatchItems;
    this.retryDelayMs = options.retryDelayMs ?? defaultRetryDelayMs;
    this.onWriteError = options.onWriteError;
    const itemLimit = maxOutputDataBytes(utf8Bytes(jobId));
    const wanted = options.maxEventDataBytes ?? DEFAULT_MAX_EVENT_DATA_BYTES;
    if (!Number.isInteger(wanted) || wanted < 4) throw new RangeError('maxEventDataBytes must be an integer of at least 4');
    // A character never splits, so an event must hold the longest UTF-8 sequence (4 bytes).
    this.maxDataBytes = Math.min(itemLimit, wanted);
    this.maxBinaryDataChars = Math.min(maxOutputDataBytes(utf8Bytes(jobId), 'base64'), wanted);
    this.nextSeq = firstSeq;
    this.stored = firstSeq - 1;
  }

  /** Last seq assigned (firstSeq - 1 before the first event). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Highest seq known stored: every event up to it is in the sink. */
  get storedSeq(): number {
    return this.stored;
  }

  /** Bytes of output (and lifecycle items) not yet stored. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /**
   * Buffers a chunk read from the process. Strings must hold whole characters (a surrogate pair
   * split across two string chunks is not rejoined); Buffers may split anywhere. Returns false
   * when the caller should pause the stream until waitForDrain() resolves.
   */
  write(stream: OutputStream, chunk: Buffer | string): boolean {
    if (this.aborted) return true;
    if (this.closing) throw new Error('OutputBatcher.write() after close()');
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const held = this.carry[stream];
    const { segments, carry } = splitUtf8(held.length > 0 ? Buffer.concat([held, bytes]) : bytes);
    // A copy: the carry must not pin the whole read buffer.
    this.carry[stream] = Buffer.from(carry);
    if (segments.length > 0) {
      const ts = this.clock().toISOString();
      for (const segment of segments) {
        if ('text' in segment) this.appendOutput(stream, segment.text, ts);
        else this.appendBinary(stream, segment.binary, ts);
      }
    }
    return this.checkHighWater();
  }

  /** Resolves once the bytes not yet stored are below the high-water mark (at once if they are). */
  waitForDrain(): Promise<void> {
    if (this.aborted || this.pendingBytes < this.highWaterBytes) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Appends a lifecycle event in order with the output. Throws a RangeError if it could never be stored. */
  lifecycle(name: string, details: Record<string, unknown> = {}): void {
    if (this.aborted) return;
    if (this.closing) throw new Error('OutputBatcher.lifecycle() after close()');
    const event: JobEvent = {
      jobId: this.jobId,
      attempt: this.attempt,
      seq: this.nextSeq,
      ts: this.clock().toISOString(),
      kind: 'lifecycle',
      name,
      details: structuredClone(details),
    };
    const item = eventToItem(event, MAX_EXPIRES_AT);
    // Checked here, before a seq is used: an event the store must refuse would be retried forever.
    assertWithinItemLimit(item, `lifecycle event "${name}"`);
    this.sealOpen();
    this.nextSeq++;
    const bytes = dynamoItemSizeBytes(item);
    this.pendingBytes += bytes;
    this.sealed.push({ event, bytes });
    this.armFlushTimer();
    this.afterSeal();
  }

  /**
   * Someone follows the output until `untilMs` (epoch ms, the injected clock's): until then the
   * short interval applies. A watch that begins while the long timer is armed writes at once.
   */
  watchUntil(untilMs: number): void {
    const now = this.clock().getTime();
    const wasWatched = this.watchedUntilMs > now;
    this.watchedUntilMs = Math.max(this.watchedUntilMs, untilMs);
    if (wasWatched || this.watchedUntilMs <= now || !this.flushTimer || this.unwatchedFlushIntervalMs === this.flushIntervalMs) return;
    this.clearFlushTimer();
    this.flushNow();
  }

  /** Writes everything buffered so far; resolves when it is stored. */
  flush(): Promise<void> {
    if (this.aborted) return Promise.reject(new OutputAbortedError(0));
    this.flushNow();
    return this.waitForStored(this.lastSeq);
  }

  /**
   * Flushes everything, including a trailing partial character, and stops the timer. Resolves
   * only once every event is stored; failed writes keep being retried until then.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    if (this.aborted) return Promise.reject(new OutputAbortedError(0));
    // Mark closing first so the trailing output below does not arm a new timer.
    this.closing = Promise.resolve();
    const ts = this.clock().toISOString();
    for (const stream of OUTPUT_STREAMS) {
      // A sequence the stream never completed is not text: kept as the bytes it was.
      const rest = this.carry[stream];
      this.carry[stream] = Buffer.alloc(0);
      if (rest.length > 0) this.appendBinary(stream, rest, ts);
    }
    this.clearFlushTimer();
    this.flushNow();
    this.closing = this.waitForStored(this.lastSeq);
    return this.closing;
  }

  /**
   * Gives up on pending writes (only when the worker lost its lease: a newer attempt owns the
   * job). Returns how many events were not known stored; a write already in flight may still land.
   */
  abort(): number {
    if (this.aborted) return 0;
    this.aborted = true;
    const discarded = this.lastSeq - this.stored;
    this.clearFlushTimer();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.open = null;
    this.sealed = [];
    this.pendingBytes = 0;
    const error = new OutputAbortedError(discarded);
    for (const waiter of this.flushWaiters.splice(0)) waiter.reject(error);
    for (const resolve of this.drainWaiters.splice(0)) resolve();
    return discarded;
  }

  private appendOutput(stream: OutputStream, text: string, ts: string): void {
    let rest = text;
    let restBytes = utf8Bytes(text);
    this.pendingBytes += restBytes;
    while (rest.length > 0) {
      const open = this.open && this.open.stream === stream && !this.open.binary ? this.open : this.openOutput(stream, ts);
      if (open.bytes + restBytes <= open.capacity) {
        this.extend(open, rest, restBytes, ts);
        return;
      }
      const fit = utf8Prefix(rest, open.capacity - open.bytes);
      const newline = fit.chars > 0 ? rest.lastIndexOf('\n', fit.chars - 1) : -1;
      if (newline >= 0) {
        // Cut after the last whole line that fits.
        const head = rest.slice(0, newline + 1);
        const headBytes = utf8Bytes(head);
        this.extend(open, head, headBytes, ts);
        rest = rest.slice(newline + 1);
        restBytes -= headBytes;
        this.sealOpen();
      } else if (open.lineStart > 0 && open.lineStart < open.data.length) {
        // The open event ends in a partial line that cannot be completed here: move that partial
        // line into the next event, so the line is cut only if it is longer than an item.
        const tail = open.data.slice(open.lineStart);
        const tailBytes = utf8Bytes(tail);
        const tailTs = open.lineStartTs ?? open.ts;
        open.data = open.data.slice(0, open.lineStart);
        open.bytes -= tailBytes;
        const next = this.openOutput(stream, tailTs);
        next.data = tail;
        next.bytes = tailBytes;
      } else if (open.lineStart === open.data.length && open.data.length > 0) {
        // Ends on a line boundary already: the next line starts a new event.
        this.sealOpen();
      } else {
        // One line longer than an item: cut at the last whole character that fits.
        this.extend(open, rest.slice(0, fit.chars), fit.bytes, ts);
        rest = rest.slice(fit.chars);
        restBytes -= fit.bytes;
        this.sealOpen();
      }
    }
  }

  /** Bytes that are not UTF-8: binary events of the stream, filled to capacity (no lines to respect). */
  private appendBinary(stream: OutputStream, bytes: Buffer, ts: string): void {
    this.pendingBytes += bytes.length;
    let offset = 0;
    while (offset < bytes.length) {
      const open = this.open && this.open.stream === stream && this.open.binary ? this.open : this.openOutput(stream, ts, true);
      const take = Math.min(open.capacity - open.bytes, bytes.length - offset);
      open.binary!.push(bytes.subarray(offset, offset + take));
      open.bytes += take;
      offset += take;
      if (open.bytes >= open.capacity) this.sealOpen();
    }
  }

  private extend(open: OpenOutput, text: string, bytes: number, ts: string): void {
    if (text.length === 0) return;
    if (open.lineStart === open.data.length) open.lineStartTs = ts;
    const newline = text.lastIndexOf('\n');
    if (newline >= 0) {
      open.lineStart = open.data.length + newline + 1;
      open.lineStartTs = newline + 1 < text.length ? ts : undefined;
    }
    open.data += text;
    open.bytes += bytes;
  }

  /** Closes the open event (if any) and opens a new, empty one with the next seq. */
  private openOutput(stream: OutputStream, ts: string, binary = false): OpenOutput {
    this.sealOpen();
    // A timestamp longer than 24 characters (a year past 9999) takes its extra bytes from `data`.
    const tsExtra = Math.max(0, ts.length - ISO_TIMESTAMP_LENGTH);
    // Binary capacity is in raw bytes: whole 3-byte groups, 4 base64 characters each.
    const capacity = binary
      ? Math.max(3, Math.floor((this.maxBinaryDataChars - tsExtra) / 4) * 3)
      : this.maxDataBytes - tsExtra;
    const open: OpenOutput = {
      seq: this.nextSeq++,
      stream,
      ts,
      capacity,
      data: '',
      bytes: 0,
      lineStart: -1,
      lineStartTs: undefined,
      binary: binary ? [] : null,
    };
    this.open = open;
    this.armFlushTimer();
    return open;
  }

  private sealOpen(): void {
    const open = this.open;
    if (!open) return;
    this.open = null;
    const event: JobEvent = {
      jobId: this.jobId,
      attempt: this.attempt,
      seq: open.seq,
      ts: open.ts,
      kind: 'output',
      stream: open.stream,
      ...(open.binary ? { data: Buffer.concat(open.binary).toString('base64'), encoding: 'base64' as const } : { data: open.data }),
    };
    this.sealed.push({ event, bytes: open.bytes });
    this.afterSeal();
  }

  private afterSeal(): void {
    if (this.sealed.length >= this.maxBatchItems) this.pump();
  }

  private checkHighWater(): boolean {
    if (this.pendingBytes < this.highWaterBytes) return true;
    // A backlog is written at once rather than at the next tick of the timer.
    this.flushNow();
    return false;
  }

  private armFlushTimer(): void {
    if (this.flushTimer || this.closing || this.aborted) return;
    const watched = this.watchedUntilMs > this.clock().getTime();
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.flushNow();
    }, watched ? this.flushIntervalMs : this.unwatchedFlushIntervalMs);
  }

  private clearFlushTimer(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }

  /** Makes every event assigned so far due, and starts writing if nothing is in flight. */
  private flushNow(): void {
    this.sealOpen();
    this.flushUpTo = this.lastSeq;
    this.pump();
  }

  private waitForStored(target: number): Promise<void> {
    if (this.stored >= target) return Promise.resolve();
    return new Promise((resolve, reject) => this.flushWaiters.push({ target, resolve, reject }));
  }

  /** Starts the next write when none is in flight and a full batch or due events are waiting. */
  private pump(): void {
    if (this.writing || this.aborted) return;
    const head = this.sealed[0];
    if (!head) return;
    if (this.sealed.length < this.maxBatchItems && head.event.seq > this.flushUpTo) return;
    this.writing = true;
    void this.send(this.sealed.slice(0, this.maxBatchItems));
  }

  private async send(batch: readonly PendingEvent[]): Promise<void> {
    try {
      await this.sink.append(batch.map((p) => p.event));
    } catch (err) {
      if (this.aborted) {
        this.writing = false;
        return;
      }
      this.failures++;
      try {
        this.onWriteError?.(err, this.failures);
      } catch {
        // A failing logger must not stop the retries.
      }
      // The batch stays at the head of `sealed`; `writing` stays set until the retry, keeping order.
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.writing = false;
        this.pump();
      }, this.retryDelayMs(this.failures));
      return;
    }
    this.writing = false;
    if (this.aborted) return;
    this.failures = 0;
    this.sealed.splice(0, batch.length);
    this.stored = batch[batch.length - 1]!.event.seq;
    for (const p of batch) this.pendingBytes -= p.bytes;
    const waiting = this.flushWaiters;
    this.flushWaiters = [];
    for (const waiter of waiting) {
      if (waiter.target <= this.stored) waiter.resolve();
      else this.flushWaiters.push(waiter);
    }
    if (this.pendingBytes < this.highWaterBytes) for (const resolve of this.drainWaiters.splice(0)) resolve();
    this.pump();
  }
}
