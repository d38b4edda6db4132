import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitUtf8 } from '../../core/events/utf8-segments.ts';

const join = (split: ReturnType<typeof splitUtf8>) =>
  Buffer.concat([...split.segments.map((s) => ('text' in s ? Buffer.from(s.text, 'utf8') : s.binary)), split.carry]);

describe('splitUtf8', () => {
  it.each([
    ['plain text', Buffer.from('héllo ✓ 🎉\n'), [{ text: 'héllo ✓ 🎉\n' }], ''],
    ['an invalid byte between text', Buffer.from([0x61, 0xff, 0x62]), [{ text: 'a' }, { binary: Buffer.from([0xff]) }, { text: 'b' }], ''],
    ['an overlong encoding', Buffer.from([0xc0, 0xaf]), [{ binary: Buffer.from([0xc0, 0xaf]) }], ''],
    ['a UTF-16 surrogate encoded as UTF-8', Buffer.from([0xed, 0xa0, 0x80]), [{ binary: Buffer.from([0xed, 0xa0, 0x80]) }], ''],
    ['beyond U+10FFFF', Buffer.from([0xf4, 0x90, 0x80, 0x80]), [{ binary: Buffer.from([0xf4, 0x90, 0x80, 0x80]) }], ''],
    ['a character cut at the end', Buffer.from('ab€').subarray(0, 4), [{ text: 'ab' }], 'e282'],
    ['a 4-byte character cut after 3', Buffer.from('🎉').subarray(0, 3), [], 'f09f8e'],
  ])('%s', (_name, input, segments, carry) => {
    const split = splitUtf8(input);
    expect(split.segments).toEqual(segments);
    expect(split.carry.toString('hex')).toBe(carry);
  });

  it('property: lossless, text segments are exactly what decodes, and a carry is at most 3 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (raw) => {
        const bytes = Buffer.from(raw);
        const split = splitUtf8(bytes);
        expect(join(split)).toEqual(bytes);
        expect(split.carry.length).toBeLessThanOrEqual(3);
        for (const s of split.segments) if ('text' in s) expect(s.text).not.toContain('\ufffd');
      }),
    );
  });

  it('property: valid text split anywhere stays text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), fc.nat(), (text, cut) => {
        const bytes = Buffer.from(text, 'utf8');
        const at = bytes.length === 0 ? 0 : cut % bytes.length;
        const first = splitUtf8(bytes.subarray(0, at));
        const second = splitUtf8(Buffer.concat([first.carry, bytes.subarray(at)]));
        const all = [...first.segments, ...second.segments];
        expect(all.every((s) => 'text' in s)).toBe(true);
        // Buffer.from made it valid UTF-8 (a lone surrogate became U+FFFD), so it must all come back as text.
        expect(all.map((s) => ('text' in s ? s.text : '')).join('')).toBe(bytes.toString('utf8'));
        expect(second.carry.length).toBe(0);
      }),
    );
  });
});
