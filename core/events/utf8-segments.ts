import { isUtf8 } from 'node:buffer';

/** A run of bytes that is valid UTF-8 (as text) or not (kept as raw bytes). */
export type Utf8Segment = { readonly text: string } | { readonly binary: Buffer };

export interface Utf8Split {
  readonly segments: Utf8Segment[];
  /**
   * A trailing sequence that is valid so far but incomplete (1 to 3 bytes): the next read may
   * complete it. At the end of the stream it is binary.
   */
  readonly carry: Buffer;
}

/**
 * Length of the well-formed UTF-8 sequence starting at `i`, 0 when the bytes there are not one,
 * or -1 when they are a valid but incomplete prefix cut off by the end of the buffer.
 * Follows the Unicode table of well-formed sequences (no overlongs, no surrogates, ≤ U+10FFFF),
 * which is what `Buffer#toString('utf8')` decodes without substituting U+FFFD.
 */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return 1;
  let length: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) length = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    length = 3;
    if (b0 === 0xe0) lo = 0xa0;
    if (b0 === 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    length = 4;
    if (b0 === 0xf0) lo = 0x90;
    if (b0 === 0xf4) hi = 0x8f;
  } else return 0;
  for (let k = 1; k < length; k++) {
    if (i + k >= bytes.length) return -1;
    const b = bytes[i + k]!;
    if (b < (k === 1 ? lo : 0x80) || b > (k === 1 ? hi : 0xbf)) return 0;
  }
  return length;
}

/** Where a trailing incomplete sequence starts (bytes.length when there is none). */
function incompleteTailStart(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const i = bytes.length - back;
    const b = bytes[i]!;
    if (b < 0x80) return bytes.length;
    if (b >= 0xc0) return sequenceLength(bytes, i) === -1 ? i : bytes.length;
  }
  return bytes.length;
}

/**
 * Splits bytes into valid UTF-8 text and the bytes that are not UTF-8, losslessly: joining the
 * segments' bytes (text encoded as UTF-8) and the carry gives back the input exactly. Split only
 * between sequences, so text that was valid stays text whatever the read boundaries were (the
 * caller prepends the previous carry).
 */
export function splitUtf8(bytes: Buffer): Utf8Split {
  const end = incompleteTailStart(bytes);
  const carry = bytes.subarray(end);
  // Fast path: the usual output is all text, checked natively.
  if (isUtf8(bytes.subarray(0, end))) {
    return { segments: end > 0 ? [{ text: bytes.toString('utf8', 0, end) }] : [], carry };
  }
  const segments: Utf8Segment[] = [];
  let runStart = 0;
  let runIsText = true;
  const closeRun = (at: number) => {
    if (at > runStart) {
      segments.push(runIsText ? { text: bytes.toString('utf8', runStart, at) } : { binary: Buffer.from(bytes.subarray(runStart, at)) });
    }
    runStart = at;
  };
  let i = 0;
  while (i < end) {
    const length = sequenceLength(bytes, i);
    const isText = length > 0;
    if (isText !== runIsText) {
      closeRun(i);
      runIsText = isText;
    }
    i += isText ? length : 1;
  }
  closeRun(end);
  return { segments, carry };
}
