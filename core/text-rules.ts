import * as z from 'zod';

/**
 * What the API accepts as text. JavaScript strings may hold lone UTF-16 surrogates (`"\ud800"` is
 * valid JSON), which no UTF-8 store can encode: the SDK then fails while marshalling, after
 * validation, and the client would see a 503 for its own mistake. U+FFFD is what a decoder leaves
 * where the bytes were not UTF-8, so it marks text that arrived broken.
 */

// With the `u` flag a surrogate range matches only unpaired halves: pairs are one code point.
const LONE_SURROGATE = /[\ud800-\udfff]/u;
const REPLACEMENT_CHARACTER = '\ufffd';
// C0/C1 controls make names and labels ambiguous in logs and UIs.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/** Why `s` is not text the API stores, or undefined when it is. */
export function malformedTextReason(s: string): string | undefined {
  if (LONE_SURROGATE.test(s)) return 'must be valid Unicode (no lone surrogates)';
  if (s.includes(REPLACEMENT_CHARACTER)) return 'must be valid UTF-8 (no U+FFFD replacement characters)';
  return undefined;
}

/** A zod string that refuses lone surrogates and replacement characters (400 with its path). */
export function wellFormedString(): z.ZodString {
  return z.string().superRefine((s, ctx) => {
    const reason = malformedTextReason(s);
    if (reason) ctx.addIssue({ code: 'custom', message: reason, input: s });
  });
}

/**
 * The path (`command.0`, `labels.team`, `(root)`) of the first string, key or value, in a parsed
 * JSON document that is not well-formed text, with the reason; undefined when all are.
 */
export function findMalformedText(value: unknown, path: readonly string[] = []): { path: string; message: string } | undefined {
  const at = (p: readonly string[]) => (p.length === 0 ? '(root)' : p.join('.'));
  if (typeof value === 'string') {
    const reason = malformedTextReason(value);
    return reason ? { path: at(path), message: reason } : undefined;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findMalformedText(value[i], [...path, String(i)]);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      const keyReason = malformedTextReason(key);
      // A broken key is reported where it sits, with a printable stand-in for itself.
      if (keyReason) return { path: at([...path, key.replace(/[^\x20-\x7e]/g, '?')]), message: `key ${keyReason}` };
      const found = findMalformedText(child, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}
