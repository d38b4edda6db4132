/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the one byte sequence an audit entry is hashed over,
 * so any implementation that reads an entry back can recompute the same SHA-256.
 *
 * JCS is ECMAScript's own JSON serialization with two rules added, which is why this is short:
 * - numbers are written as `Number.prototype.toString` writes them (RFC 8785 §3.2.2.3), which is
 *   what `JSON.stringify` does for every finite number (and `-0` becomes `0`);
 * - object members are sorted by their names compared as arrays of UTF-16 code units
 *   (§3.2.3), which is what `Array.prototype.sort` does with no comparator.
 * Strings are escaped as `JSON.stringify` escapes them (§3.2.2.2: `"` `\` and the C0 controls,
 * with `\b \t \n \f \r` short forms and lowercase `\u00xx` otherwise; everything else verbatim).
 *
 * Input must be I-JSON (RFC 7493): NaN, infinities, lone surrogates, and values JSON cannot hold
 * (undefined in an array, functions, symbols, bigints, class instances) throw instead of being
 * silently changed, because a silently changed value would be hashed as something it is not.
 * Object members whose value is `undefined` are left out, as JSON.stringify and the DynamoDB
 * document client (removeUndefinedValues) both do, so an entry hashes the same before and after
 * a round trip through the table.
 */

export class CanonicalJsonError extends TypeError {
  constructor(message: string, readonly path: string) {
    super(`${message} at ${path}`);
    this.name = 'CanonicalJsonError';
  }
}

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The canonical JSON text of `value` (RFC 8785). Throws CanonicalJsonError on non-I-JSON input. */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  write(value, '$', parts, new Set());
  return parts.join('');
}

function write(value: unknown, path: string, out: string[], ancestors: Set<object>): void {
  switch (typeof value) {
    case 'string':
      out.push(string(value, path));
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`${value} is not a JSON number`, path);
      // ECMAScript Number::toString: the shortest round-tripping form, exponent from 1e21 / 1e-7.
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'object':
      break;
    default:
      throw new CanonicalJsonError(`a ${typeof value} is not JSON`, path);
  }
  if (value === null) {
    out.push('null');
    return;
  }
  if (ancestors.has(value)) throw new CanonicalJsonError('a cycle is not JSON', path);
  ancestors.add(value);
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      const element: unknown = value[i];
      if (element === undefined) throw new CanonicalJsonError('undefined is not JSON', `${path}[${i}]`);
      write(element, `${path}[${i}]`, out, ancestors);
    }
    out.push(']');
  } else {
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      throw new CanonicalJsonError('only plain objects and arrays are JSON', path);
    }
    const record = value as Record<string, unknown>;
    // Default sort = ascending UTF-16 code units, exactly RFC 8785 §3.2.3.
    const names = Object.keys(record)
      .filter((name) => record[name] !== undefined)
      .sort();
    out.push('{');
    names.forEach((name, i) => {
      if (i > 0) out.push(',');
      out.push(string(name, `${path}.${name}`), ':');
      write(record[name], `${path}.${name}`, out, ancestors);
    });
    out.push('}');
  }
  ancestors.delete(value);
}

function string(value: string, path: string): string {
  if (LONE_SURROGATE.test(value)) throw new CanonicalJsonError('a lone surrogate is not valid Unicode', path);
  return JSON.stringify(value);
}
