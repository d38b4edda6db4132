import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, CanonicalJsonError } from '../../core/audit/canonical-json.ts';
import { hashEntry } from '../../core/audit/entry.ts';

/** A double from its IEEE-754 bits, as RFC 8785 Appendix B lists them. */
function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('canonicalJson (RFC 8785)', () => {
  it('canonicalizes the example of §3.2.2 byte for byte', () => {
    const input = JSON.parse(String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`) as unknown;
    expect(canonicalJson(input)).toBe(
      String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
    );
  });

  it('sorts member names by UTF-16 code units as in §3.2.3', () => {
    const input = JSON.parse(String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`) as Record<string, string>;
    // Object.keys would list "1" first (an integer-like name); the canonical order is by code units.
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  // RFC 8785 Appendix B: IEEE-754 value → its one serialization.
  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('writes the double %s as %s', (bits, expected) => {
    expect(canonicalJson(fromBits(bits))).toBe(expected);
  });

  it.each([
    ['NaN', fromBits('7fffffffffffffff')],
    ['Infinity', fromBits('7ff0000000000000')],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['a lone high surrogate', { a: 'x\ud800' }],
    ['a lone low surrogate in a name', { 'x\udc00': 1 }],
    ['undefined in an array', [1, undefined]],
    ['a bigint', { n: 1n }],
    ['a function', { f: () => 1 }],
    ['a Date', { d: new Date(0) }],
  ])('refuses %s', (_what, value) => {
    expect(() => canonicalJson(value)).toThrow(CanonicalJsonError);
  });

  it('refuses cycles but accepts a value repeated in siblings', () => {
    const shared = { a: 1 };
    expect(canonicalJson({ x: shared, y: [shared] })).toBe('{"x":{"a":1},"y":[{"a":1}]}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/cycle/);
  });

  it('leaves out undefined members, as the DynamoDB document client does', () => {
    expect(canonicalJson({ b: undefined, a: null, c: { z: 1, y: undefined } })).toBe('{"a":null,"c":{"z":1}}');
  });

  it('escapes only what JSON requires, with lowercase hex', () => {
    expect(canonicalJson('\u0000\u001f\b\t\n\f\r"\\/\u007f\u2028é')).toBe('"\\u0000\\u001f\\b\\t\\n\\f\\r\\"\\\\/\u007f\u2028é"');
  });

  it('is invariant under member order and a parse round trip (property)', () => {
    const shuffle = (value: unknown, seed: number): unknown => {
      if (Array.isArray(value)) return value.map((v) => shuffle(v, seed));
      if (value === null || typeof value !== 'object') return value;
      const entries = Object.entries(value as Record<string, unknown>);
      entries.sort((a, b) => ((a[0].length * 31 + seed) % 7) - ((b[0].length * 31 + seed) % 7));
      return Object.fromEntries(entries.reverse().map(([k, v]) => [k, shuffle(v, seed + 1)]));
    };
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 1000 }), (value, seed) => {
        let text: string;
        try {
          text = canonicalJson(value);
        } catch (err) {
          // fast-check's strings may hold lone surrogates, which I-JSON excludes.
          expect(err).toBeInstanceOf(CanonicalJsonError);
          return;
        }
        expect(canonicalJson(JSON.parse(text))).toBe(text);
        expect(canonicalJson(shuffle(value, seed))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('hashes an entry over its canonical form, ignoring any hash field', () => {
    const body = {
      seq: 1,
      time: '2026-01-01T00:00:00.000Z',
      actor: 'alice',
      action: 'job.submit',
      target: 'job:01ARZ3NDEKTSV4RRFFQ69G5FAV',
      details: { b: 2, a: [1, 'x'] },
      prevHash: '0'.repeat(64),
    };
    const reordered = { prevHash: body.prevHash, details: { a: [1, 'x'], b: 2 }, target: body.target, action: body.action, actor: body.actor, time: body.time, seq: 1 };
    expect(hashEntry(body)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashEntry(reordered)).toBe(hashEntry(body));
    expect(hashEntry({ ...body, hash: 'whatever' })).toBe(hashEntry(body));
    expect(hashEntry({ ...body, details: { a: [1, 'x'], b: 3 } })).not.toBe(hashEntry(body));
  });
});
