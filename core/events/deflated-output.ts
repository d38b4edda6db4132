import { promisify } from 'node:util';
import { crc32, deflateRaw } from 'node:zlib';
import { outputEventBytes, type OutputEvent } from './event.ts';

const deflateRawAsync = promisify(deflateRaw);

/** DEFLATE level of stored output, in items and archive members alike (specs/05, decision 15). */
export const OUTPUT_DEFLATE_LEVEL = 5;

/** Output of at least this many bytes is worth deflating on its own. */
export const DEFLATE_MIN_BYTES = 1024;

const deflated = new WeakMap<OutputEvent, Promise<Buffer>>();

/**
 * The raw DEFLATE stream of an output event's bytes, computed once per event: the event store puts
 * it in the item (`z`) and the archive writer wraps the very same bytes as a gzip member, so output
 * is compressed once, not twice (the second pass was half the worker's CPU per MiB, taken from the
 * job on a small machine). Keyed by the event object, which the batcher hands to the store and then
 * to the archive (retries included); forgotten with it. Deterministic either way: same bytes, level.
 */
export function deflatedOutput(event: OutputEvent): Promise<Buffer> {
  let z = deflated.get(event);
  if (!z) {
    z = deflateRawAsync(outputEventBytes(event), { level: OUTPUT_DEFLATE_LEVEL });
    deflated.set(event, z);
  }
  return z;
}

/** ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=3 (Unix), as zlib's gzip writes it. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03]);

/** One gzip member (RFC 1952) around a raw DEFLATE stream of `raw`. */
export function gzipMember(raw: Buffer, deflateStream: Buffer): Buffer {
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(raw), 0);
  trailer.writeUInt32LE(raw.length % 2 ** 32, 4);
  return Buffer.concat([GZIP_HEADER, deflateStream, trailer]);
}
