import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deflatedOutput } from '../../core/events/deflated-output.ts';
import type { JobEvent, OutputEvent } from '../../core/events/event.ts';
import { OutputArchiveWriter } from '../../core/events/output-archive-writer.ts';

const JOB = '01HZY7ZC5K3W9Q4XG8N2B6T1VR';
const TS = '2026-01-01T00:00:00.000Z';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'archive-writer-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const text = (seq: number, data: string): OutputEvent => ({ jobId: JOB, attempt: 1, seq, ts: TS, kind: 'output', stream: 'stdout', data });
const binary = (seq: number, bytes: Buffer): OutputEvent => ({ ...text(seq, bytes.toString('base64')), stream: 'stderr', encoding: 'base64' });
const lines = (n: number, from: number) => Array.from({ length: n }, (_, i) => `step ${from + i} loss=${Math.sin(from + i).toFixed(6)}\n`).join('');

describe('OutputArchiveWriter', () => {
  it('archives exactly the bytes written, each large event as a member of its own made from its item’s DEFLATE stream', async () => {
    const large = text(3, lines(3_000, 0));
    const randomish = binary(5, randomBytes(20_000));
    const events: JobEvent[] = [
      text(1, 'hello\n'),
      text(2, 'a small line\n'),
      large,
      { jobId: JOB, attempt: 1, seq: 4, ts: TS, kind: 'lifecycle', name: 'started', details: {} },
      randomish,
      text(6, 'partial last line'),
    ];
    // As the event store would have: the archive must reuse these streams, not compress again.
    const streams = await Promise.all([deflatedOutput(large), deflatedOutput(randomish)]);
    const writer = new OutputArchiveWriter({ jobId: JOB, attempt: 1, spoolPath: join(dir, 'output.gz') });
    await writer.add(events.slice(0, 3));
    await writer.add(events.slice(3));
    const archive = await writer.finish();
    expect(archive).toBeDefined();
    const spool = readFileSync(archive!.spoolPath);
    const expected = Buffer.concat(events.filter((e): e is OutputEvent => e.kind === 'output').map((e) => Buffer.from(e.data, e.encoding === 'base64' ? 'base64' : 'utf8')));
    expect(gunzipSync(spool).equals(expected)).toBe(true);
    const { members } = archive!.index;
    // Small events before a large one close their member; the large events are members alone.
    expect(members.map((m) => m.rawLength)).toEqual([19, Buffer.byteLength(large.data), 20_000, 17]);
    for (const m of members) {
      const member = spool.subarray(m.offset, m.offset + m.length);
      expect(gunzipSync(member).equals(expected.subarray(m.rawOffset, m.rawOffset + m.rawLength))).toBe(true);
    }
    const body = (m: (typeof members)[number]) => spool.subarray(m.offset + 10, m.offset + m.length - 8);
    expect(body(members[1]!).equals(streams[0]!)).toBe(true);
    expect(body(members[2]!).equals(streams[1]!)).toBe(true);
  });

  it('compresses an event once however often it is asked for', () => {
    const event = text(1, lines(100, 0));
    expect(deflatedOutput(event)).toBe(deflatedOutput(event));
  });
});
