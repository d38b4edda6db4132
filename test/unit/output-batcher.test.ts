import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { outputEventBytes, type JobEvent, type OutputEvent, type OutputStream } from '../../core/events/event.ts';
import type { EventSink } from '../../core/events/store.ts';
import { maxOutputDataBytes } from '../../core/events/item-size.ts';
import { OutputAbortedError, OutputBatcher, type OutputBatcherOptions } from '../../core/events/output-batcher.ts';

const JOB = '01HZY7ZC5K3W9Q4XG8N2B6T1VR';
const MAX = maxOutputDataBytes();
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

/**
 * A sink that records every call, can fail its next N calls, and can hold writes open until the
 * test releases them. Stored events are keyed by seq, as the real store's puts are.
 */
class FakeSink implements EventSink {
  readonly calls: JobEvent[][] = [];
  readonly stored = new Map<number, JobEvent>();
  /** Every copy of each seq ever sent: retries must resend identical events. */
  readonly sent = new Map<number, JobEvent[]>();
  failNext = 0;
  failAlways = false;
  held = false;
  inFlight = 0;
  maxInFlight = 0;
  private releases: (() => void)[] = [];

  async append(events: readonly JobEvent[]): Promise<void> {
    this.calls.push([...events]);
    for (const e of events) this.sent.set(e.seq, [...(this.sent.get(e.seq) ?? []), structuredClone(e)]);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.held) await new Promise<void>((resolve) => this.releases.push(resolve));
      if (this.failAlways || this.failNext > 0) {
        this.failNext = Math.max(0, this.failNext - 1);
        throw new Error('ProvisionedThroughputExceededException');
      }
      for (const e of events) this.stored.set(e.seq, e);
    } finally {
      this.inFlight--;
    }
  }

  release(): void {
    this.held = false;
    for (const r of this.releases.splice(0)) r();
  }

  /** Stored events in seq order. */
  events(): JobEvent[] {
    return [...this.stored.values()].sort((a, b) => a.seq - b.seq);
  }

  output(stream?: OutputStream): string {
    return this.events()
      .filter((e): e is OutputEvent => e.kind === 'output' && (stream === undefined || e.stream === stream))
      .map((e) => e.data)
      .join('');
  }

  /** The bytes stored, text and binary events decoded. */
  outputBytes(stream?: OutputStream): Buffer {
    return Buffer.concat(
      this.events()
        .filter((e): e is OutputEvent => e.kind === 'output' && (stream === undefined || e.stream === stream))
        .map(outputEventBytes),
    );
  }
}

/** A manual clock: tests move it; it is independent of the (fake) timers. */
function manualClock() {
  let now = T0;
  return {
    clock: () => new Date(now),
    advance: (ms: number) => {
      now += ms;
    },
    iso: (offsetMs = 0) => new Date(T0 + offsetMs).toISOString(),
  };
}

function expectContiguous(events: readonly JobEvent[], from = 1) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_e, i) => from + i));
}

/** Runs timers until `promise` settles (close() with retries needs several timer rounds). */
async function settle<T>(promise: Promise<T>): Promise<T> {
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  for (let i = 0; i < 1000 && !done; i++) await vi.advanceTimersToNextTimerAsync();
  if (!done) throw new Error('did not settle: events are stuck (lost or never written)');
  return tracked;
}

describe('event size cap', () => {
  it('keeps events at 64 KiB by default, splitting a longer line at a character boundary', async () => {
    const events: JobEvent[] = [];
    const sink: EventSink = { append: async (batch) => void events.push(...batch) };
    const batcher = new OutputBatcher({ sink, jobId: JOB, attempt: 1 });
    const line = '€'.repeat(30_000) + '\n'; // 90,001 bytes
    batcher.write('stdout', Buffer.from(line));
    await batcher.close();
    const output = events.filter((e): e is OutputEvent => e.kind === 'output');
    expect(output.map((e) => Buffer.byteLength(e.data))).toEqual([65_535, 24_466]);
    expect(output.map((e) => e.data).join('')).toBe(line);
  });
});

describe('OutputBatcher', () => {
  let sink: FakeSink;
  let time: ReturnType<typeof manualClock>;
  const make = (options: Partial<OutputBatcherOptions> = {}) =>
    // Item-sized events by default here: these tests probe the item-limit splitting itself.
    new OutputBatcher({ sink, jobId: JOB, attempt: 1, clock: time.clock, retryDelayMs: (n) => 1000 * n, maxEventDataBytes: maxOutputDataBytes(), ...options });

  beforeEach(() => {
    vi.useFakeTimers();
    sink = new FakeSink();
    time = manualClock();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps cross-stream order in one contiguous seq sequence with lifecycle events', async () => {
    const batcher = make();
    batcher.lifecycle('started', { pid: 42 });
    batcher.write('stdout', 'a\n');
    batcher.write('stderr', 'b\n');
    batcher.write('stdout', 'c\n');
    batcher.lifecycle('exited', { code: 0 });
    await settle(batcher.close());

    const events = sink.events();
    expectContiguous(events);
    expect(events.map((e) => (e.kind === 'output' ? `${e.stream}:${e.data}` : `lifecycle:${e.name}`))).toEqual([
      'lifecycle:started',
      'stdout:a\n',
      'stderr:b\n',
      'stdout:c\n',
      'lifecycle:exited',
    ]);
    expect(events[0]).toEqual({ jobId: JOB, attempt: 1, seq: 1, ts: time.iso(), kind: 'lifecycle', name: 'started', details: { pid: 42 } });
    expect(batcher.lastSeq).toBe(5);
    expect(batcher.storedSeq).toBe(5);
  });

  it('coalesces consecutive output of one stream, stamped with its first byte’s time', async () => {
    const batcher = make();
    batcher.write('stdout', 'one\n');
    time.advance(30);
    batcher.write('stdout', 'two\n');
    time.advance(30);
    batcher.write('stdout', 'thr');
    batcher.write('stdout', 'ee\n');
    time.advance(30);
    batcher.write('stderr', 'oops\n');
    await settle(batcher.close());
    expect(sink.events()).toEqual([
      { jobId: JOB, attempt: 1, seq: 1, ts: time.iso(0), kind: 'output', stream: 'stdout', data: 'one\ntwo\nthree\n' },
      { jobId: JOB, attempt: 1, seq: 2, ts: time.iso(90), kind: 'output', stream: 'stderr', data: 'oops\n' },
    ]);
    expect(sink.calls).toHaveLength(1);
  });

  it('flushes on the timer: output is stored within flushIntervalMs', async () => {
    const batcher = make({ flushIntervalMs: 200 });
    batcher.write('stdout', 'hello\n');
    await vi.advanceTimersByTimeAsync(199);
    expect(sink.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(sink.output()).toBe('hello\n');
    expect(batcher.storedSeq).toBe(1);

    // Nothing pending: no timer, no empty writes.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(sink.calls).toHaveLength(1);

    // The next output opens a new event and a new timer.
    batcher.write('stdout', 'again\n');
    await vi.advanceTimersByTimeAsync(200);
    expect(sink.events().map((e) => e.seq)).toEqual([1, 2]);
    await settle(batcher.close());
  });

  it('holds output nobody follows for the unwatched interval, as one coalesced event', async () => {
    const batcher = make({ flushIntervalMs: 200, unwatchedFlushIntervalMs: 30_000 });
    for (let i = 1; i <= 10; i++) {
      batcher.write('stdout', `line ${i}\n`);
      time.advance(1_000);
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(sink.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(sink.calls).toHaveLength(1);
    expect(sink.events()).toHaveLength(1);
    expect(sink.output()).toBe(Array.from({ length: 10 }, (_, i) => `line ${i + 1}\n`).join(''));
    await settle(batcher.close());
  });

  it('writes at once when a follower arrives, then within flushIntervalMs until the watch ends', async () => {
    const batcher = make({ flushIntervalMs: 200, unwatchedFlushIntervalMs: 30_000 });
    batcher.write('stdout', 'before\n');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sink.calls).toHaveLength(0);

    batcher.watchUntil(T0 + 10_000);
    await vi.advanceTimersByTimeAsync(0);
    expect(sink.output()).toBe('before\n');

    batcher.write('stdout', 'watched\n');
    await vi.advanceTimersByTimeAsync(200);
    expect(sink.output()).toBe('before\nwatched\n');

    // The watch ended (nobody renewed it): back to the long interval.
    time.advance(10_001);
    batcher.write('stdout', 'after\n');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sink.output()).toBe('before\nwatched\n');
    await vi.advanceTimersByTimeAsync(29_000);
    expect(sink.output()).toBe('before\nwatched\nafter\n');
    // A watch that already ended changes nothing.
    batcher.watchUntil(T0 + 5_000);
    batcher.write('stdout', 'late\n');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sink.output()).toBe('before\nwatched\nafter\n');
    await settle(batcher.close());
    expect(sink.output()).toBe('before\nwatched\nafter\nlate\n');
  });

  it('refuses an unwatched interval shorter than the watched one', () => {
    expect(() => make({ flushIntervalMs: 200, unwatchedFlushIntervalMs: 100 })).toThrow(RangeError);
  });

  it('writes a full batch at once, without waiting for the timer', async () => {
    const batcher = make({ maxBatchItems: 3, flushIntervalMs: 10_000 });
    for (let i = 0; i < 5; i++) batcher.write(i % 2 === 0 ? 'stdout' : 'stderr', `${i}\n`);
    // Three closed events: one write, no timer involved.
    await vi.advanceTimersByTimeAsync(0);
    expect(sink.calls.map((c) => c.map((e) => e.seq))).toEqual([[1, 2, 3]]);
    // The rest is neither a full batch nor due: it waits for the timer instead of a write per event.
    await vi.advanceTimersByTimeAsync(9_000);
    expect(sink.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sink.calls.map((c) => c.map((e) => e.seq))).toEqual([[1, 2, 3], [4, 5]]);
    await settle(batcher.close());
    expect(sink.calls).toHaveLength(2);
  });

  it('splits a line longer than an item across events at a character boundary', async () => {
    const batcher = make();
    const long = `${'😀x'.repeat(Math.ceil(MAX / 4))}\n`; // ~1.25 items of 5-byte pairs
    batcher.write('stdout', 'short\n');
    batcher.write('stdout', Buffer.from(long));
    batcher.write('stdout', 'after\n');
    await settle(batcher.close());

    const events = sink.events() as OutputEvent[];
    expectContiguous(events);
    expect(sink.output()).toBe(`short\n${long}after\n`);
    // "short\n" is not glued to the long line's first part: the long line starts its own event.
    expect(events.map((e) => Buffer.byteLength(e.data))).toEqual([6, expect.any(Number), expect.any(Number)]);
    const full = events[1]!;
    expect(Buffer.byteLength(full.data)).toBeLessThanOrEqual(MAX);
    expect(Buffer.byteLength(full.data)).toBeGreaterThan(MAX - 4);
    expect(full.data).not.toContain('\ufffd');
    expect(events[2]!.data.endsWith('\nafter\n')).toBe(true);
    for (const e of events) expect(Buffer.byteLength(e.data)).toBeLessThanOrEqual(MAX);
  });

  it('cuts at line boundaries, moving a partial line to the next event, stamped when it arrived', async () => {
    const batcher = make();
    const line = `${'x'.repeat(100_000)}\n`;
    batcher.write('stdout', line.repeat(3)); // t0
    time.advance(10);
    batcher.write('stdout', 'y'.repeat(50_000)); // t0+10: starts line 4
    time.advance(10);
    // Completes line 4 (120,001 bytes: does not fit beside 3 lines) and adds line 5.
    batcher.write('stdout', `${'y'.repeat(70_000)}\nz\n`);
    await settle(batcher.close());

    const events = sink.events() as OutputEvent[];
    expect(events.map((e) => e.data)).toEqual([line.repeat(3), `${'y'.repeat(120_000)}\nz\n`]);
    expect(events.map((e) => e.ts)).toEqual([time.iso(0), time.iso(10)]);
  });

  it('coalesces lines up to the item limit and never splits a line that fits in one item', async () => {
    const batcher = make();
    const line = `${'l'.repeat(99_999)}\n`; // 100,000 bytes: four fit in one item, five do not
    batcher.write('stdout', line.repeat(9));
    await settle(batcher.close());
    const events = sink.events() as OutputEvent[];
    expect(events.map((e) => e.data.length / line.length)).toEqual([4, 4, 1]);
  });

  describe('UTF-8 split across reads', () => {
    const text = 'héllo € 😀 done\n';
    const bytes = Buffer.from(text);

    it.each(Array.from({ length: bytes.length - 1 }, (_v, i) => i + 1))('split at byte %i', async (at) => {
      const batcher = make();
      batcher.write('stdout', bytes.subarray(0, at));
      batcher.write('stdout', bytes.subarray(at));
      await settle(batcher.close());
      expect(sink.output()).toBe(text);
    });

    it('one byte per read, interleaved with the other stream and a flush', async () => {
      const batcher = make();
      const other = Buffer.from('ßtderr → ✓ 🎉 ok\n');
      for (let i = 0; i < Math.max(bytes.length, other.length); i++) {
        if (i < bytes.length) batcher.write('stdout', bytes.subarray(i, i + 1));
        if (i < other.length) batcher.write('stderr', other.subarray(i, i + 1));
        if (i % 3 === 0) await vi.advanceTimersByTimeAsync(200);
      }
      await settle(batcher.close());
      expect(sink.output('stdout')).toBe(text);
      expect(sink.output('stderr')).toBe(other.toString('utf8'));
      expectContiguous(sink.events());
    });

    it('close() writes out a trailing partial sequence (as its bytes) instead of dropping it', async () => {
      const batcher = make();
      batcher.write('stdout', Buffer.from('end €').subarray(0, 6)); // 'end ' + 2 of the 3 bytes of '€'
      await vi.advanceTimersByTimeAsync(200);
      expect(sink.output()).toBe('end ');
      await settle(batcher.close());
      expect(sink.outputBytes()).toEqual(Buffer.from([0x65, 0x6e, 0x64, 0x20, 0xe2, 0x82]));
      expect(sink.events().map((e) => (e.kind === 'output' ? e.encoding ?? 'text' : e.kind))).toEqual(['text', 'base64']);
    });
  });

  describe('bytes that are not UTF-8', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_v, i) => i));

    it.each([1, 7, 64, 255, 256])('all 256 byte values in reads of %i bytes come back exactly', async (size) => {
      const batcher = make();
      for (let i = 0; i < all.length; i += size) batcher.write('stdout', all.subarray(i, i + size));
      await settle(batcher.close());
      expect(sink.outputBytes()).toEqual(all);
      expectContiguous(sink.events());
    });

    it('keeps valid text as text around invalid bytes, and the invalid bytes as base64', async () => {
      const batcher = make();
      batcher.write('stdout', Buffer.concat([Buffer.from('ok é\n'), Buffer.from([0xff, 0xc0, 0x80]), Buffer.from('more ✓\n')]));
      await settle(batcher.close());
      const events = sink.events() as OutputEvent[];
      expect(events.map((e) => [e.encoding ?? 'text', e.data])).toEqual([
        ['text', 'ok é\n'],
        ['base64', Buffer.from([0xff, 0xc0, 0x80]).toString('base64')],
        ['text', 'more ✓\n'],
      ]);
      expect(sink.output()).not.toContain('\ufffd');
    });

    it('fills binary events to capacity, each within the item limit', async () => {
      const batcher = make({ maxEventDataBytes: 4000 });
      const noise = Buffer.alloc(10_000, 0xfe);
      batcher.write('stderr', noise);
      await settle(batcher.close());
      const events = sink.events() as OutputEvent[];
      expect(events.map((e) => outputEventBytes(e).length)).toEqual([3000, 3000, 3000, 1000]);
      for (const e of events) expect(e.data.length).toBeLessThanOrEqual(4000);
      expect(sink.outputBytes('stderr')).toEqual(noise);
    });
  });

  it('applies back-pressure above the high-water mark until the sink catches up', async () => {
    const batcher = make({ highWaterBytes: 1000 });
    sink.held = true;
    expect(batcher.write('stdout', 'a'.repeat(600))).toBe(true);
    await expect(batcher.waitForDrain()).resolves.toBeUndefined();
    expect(batcher.write('stdout', 'b'.repeat(600))).toBe(false);
    // Crossing the mark writes at once, without waiting for the timer.
    expect(sink.calls).toHaveLength(1);
    let drained = false;
    void batcher.waitForDrain().then(() => {
      drained = true;
    });
    // More output while paused is still accepted (and still reports the backlog).
    expect(batcher.write('stderr', 'c'.repeat(10))).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(drained).toBe(false);
    expect(batcher.bufferedBytes).toBe(1210);

    sink.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(drained).toBe(true);
    expect(batcher.write('stdout', 'd')).toBe(true);
    await settle(batcher.close());
    expect(sink.output()).toBe(`${'a'.repeat(600)}${'b'.repeat(600)}${'c'.repeat(10)}d`);
  });

  it('keeps and retries failed writes: nothing lost, no duplicates, one write in flight', async () => {
    const errors: number[] = [];
    const batcher = make({ maxBatchItems: 2, onWriteError: (_err, n) => errors.push(n) });
    sink.failNext = 3;
    batcher.write('stdout', 'first\n');
    batcher.write('stderr', 'second\n');
    batcher.write('stdout', 'third\n'); // seals 1 and 2: a full batch, first write fails
    await vi.advanceTimersByTimeAsync(0);
    expect(sink.calls).toHaveLength(1);
    expect(sink.stored.size).toBe(0);
    // Output keeps arriving while the batch is being retried.
    batcher.lifecycle('exited', { code: 0 });
    batcher.write('stderr', 'late\n');
    const closed = batcher.close();
    await vi.advanceTimersByTimeAsync(999);
    expect(sink.calls).toHaveLength(1); // backoff 1000 ms after the first failure
    await settle(closed);

    expect(errors).toEqual([1, 2, 3]);
    expect(sink.maxInFlight).toBe(1);
    const events = sink.events();
    expectContiguous(events);
    expect(events).toHaveLength(5);
    expect(sink.output()).toBe('first\nsecond\nthird\nlate\n');
    // Every retry resent the very same events under the same seqs.
    for (const copies of sink.sent.values()) for (const copy of copies) expect(copy).toEqual(copies[0]);
    expect(sink.calls.slice(0, 4).map((c) => c.map((e) => e.seq))).toEqual([[1, 2], [1, 2], [1, 2], [1, 2]]);
  });

  it('close() resolves only when everything is stored, and refuses later writes', async () => {
    const batcher = make();
    sink.held = true;
    batcher.write('stdout', 'x\n');
    let closed = false;
    const closing = batcher.close().then(() => {
      closed = true;
    });
    // The flush timer is stopped at once; only the write is pending.
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(closed).toBe(false);
    expect(() => batcher.write('stdout', 'y')).toThrow(/after close/);
    expect(batcher.close()).toBe(batcher.close());
    sink.release();
    await closing;
    expect(closed).toBe(true);
    expect(batcher.storedSeq).toBe(batcher.lastSeq);
    // The timer is stopped: nothing else happens.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('flush() resolves when what was written so far is stored', async () => {
    const batcher = make({ flushIntervalMs: 60_000 });
    batcher.write('stdout', 'a\n');
    batcher.lifecycle('checkpoint');
    await settle(batcher.flush());
    expect(sink.events().map((e) => e.seq)).toEqual([1, 2]);
    await settle(batcher.close());
  });

  it('abort() gives up on pending writes, rejects close() and ignores later output', async () => {
    const batcher = make();
    sink.failAlways = true;
    batcher.write('stdout', 'one\n');
    batcher.write('stderr', 'two\n');
    await vi.advanceTimersByTimeAsync(200); // write fails; retry scheduled
    batcher.write('stdout', 'three\n');
    const closing = batcher.close();
    const closeResult = closing.then(
      () => 'resolved',
      (err: unknown) => err,
    );
    await vi.advanceTimersByTimeAsync(5_000);
    const callsBefore = sink.calls.length;

    expect(batcher.abort()).toBe(3);
    expect(batcher.abort()).toBe(0);
    const result = await closeResult;
    expect(result).toBeInstanceOf(OutputAbortedError);
    expect((result as OutputAbortedError).discarded).toBe(3);
    expect(batcher.write('stdout', 'ignored')).toBe(true);
    await expect(batcher.waitForDrain()).resolves.toBeUndefined();
    await expect(batcher.flush()).rejects.toBeInstanceOf(OutputAbortedError);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sink.calls).toHaveLength(callsBefore);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses a lifecycle event too large to store, without using a seq', async () => {
    const batcher = make();
    expect(() => batcher.lifecycle('huge', { blob: 'x'.repeat(410_000) })).toThrow(RangeError);
    batcher.lifecycle('ok');
    await settle(batcher.close());
    expect(sink.events().map((e) => e.seq)).toEqual([1]);
  });

  it('starts at firstSeq and validates its options', async () => {
    const batcher = make({ firstSeq: 41 });
    expect(batcher.lastSeq).toBe(40);
    batcher.write('stdout', 'x');
    await settle(batcher.close());
    expect(sink.events().map((e) => e.seq)).toEqual([41]);
    expect(() => make({ attempt: 0 })).toThrow(RangeError);
    expect(() => make({ maxBatchItems: 0 })).toThrow(RangeError);
    expect(() => make({ firstSeq: 0 })).toThrow(RangeError);
  });

  it('property: any interleaving of chunks, lifecycle events and failing writes is stored exactly once, in order', async () => {
    const op = fc.oneof(
      fc.record({
        type: fc.constant('write' as const),
        stream: fc.constantFrom<OutputStream>('stdout', 'stderr'),
        // Text (multi-byte characters) or arbitrary bytes, often not UTF-8.
        bytes: fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }).map((t) => Buffer.from(t)), fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b))),
        cut: fc.nat(),
      }),
      fc.record({ type: fc.constant('lifecycle' as const), name: fc.string({ minLength: 1, maxLength: 8 }) }),
      fc.record({ type: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 500 }) }),
      fc.record({ type: fc.constant('fail' as const), n: fc.integer({ min: 1, max: 3 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), fc.integer({ min: 1, max: 5 }), async (ops, maxBatchItems) => {
        sink = new FakeSink();
        const batcher = make({ maxBatchItems, highWaterBytes: 64 });
        const written: Record<OutputStream, Buffer[]> = { stdout: [], stderr: [] };
        for (const o of ops) {
          if (o.type === 'write') {
            const bytes = o.bytes;
            const at = bytes.length === 0 ? 0 : o.cut % bytes.length;
            batcher.write(o.stream, bytes.subarray(0, at));
            batcher.write(o.stream, bytes.subarray(at));
            written[o.stream].push(bytes);
          } else if (o.type === 'lifecycle') {
            batcher.lifecycle(o.name);
          } else if (o.type === 'tick') {
            await vi.advanceTimersByTimeAsync(o.ms);
          } else {
            sink.failNext += o.n;
          }
        }
        await settle(batcher.close());
        const events = sink.events();
        expectContiguous(events);
        expect(events).toHaveLength(batcher.lastSeq);
        for (const stream of ['stdout', 'stderr'] as const) expect(sink.outputBytes(stream)).toEqual(Buffer.concat(written[stream]));
        expect(sink.maxInFlight).toBeLessThanOrEqual(1);
        for (const copies of sink.sent.values()) for (const copy of copies) expect(copy).toEqual(copies[0]);
      }),
      { numRuns: 60 },
    );
  });
});
