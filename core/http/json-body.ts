import { findMalformedText } from '../text-rules.ts';
import { HttpError } from './api-error.ts';

export interface JsonBodyLimits {
  /** Largest accepted body in bytes; 413 above. */
  readonly maxBytes: number;
  /** Deepest accepted nesting of arrays/objects; deep documents are a parser-exhaustion vector. */
  readonly maxDepth: number;
}

export const DEFAULT_JSON_BODY_LIMITS: JsonBodyLimits = { maxBytes: 256 * 1024, maxDepth: 16 };

const JSON_CONTENT_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;.*)?$/i;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Parses an API Gateway body as JSON: content type checked (415), size capped (413), bytes decoded
 * as strict UTF-8 (400 on invalid sequences rather than silently replacing them), JSON parsed and
 * nesting bounded (400), every string checked for lone surrogates and U+FFFD (400 naming the field). Returns the parsed value; nothing downstream sees raw text.
 */
export function parseJsonBody(
  headers: Record<string, string | undefined>,
  body: string | undefined,
  isBase64Encoded: boolean,
  limits: JsonBodyLimits = DEFAULT_JSON_BODY_LIMITS,
): unknown {
  const contentType = headers['content-type'];
  if (body === undefined || body === '') {
    throw new HttpError(400, 'INVALID_ARGUMENT', 'request body is required', { fields: [{ path: '(body)', message: 'required' }] });
  }
  if (!contentType || !JSON_CONTENT_TYPE.test(contentType)) {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'request body must be JSON (Content-Type: application/json)', {
      contentType: contentType ?? null,
    });
  }
  const bytes = isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  if (bytes.byteLength > limits.maxBytes) {
    throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `request body exceeds ${limits.maxBytes} bytes`, {
      limitBytes: limits.maxBytes,
    });
  }
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new HttpError(400, 'INVALID_ARGUMENT', 'request body is not valid UTF-8', {});
  }
  const depth = nestingDepth(text);
  if (depth > limits.maxDepth) {
    throw new HttpError(400, 'INVALID_ARGUMENT', `request body nests deeper than ${limits.maxDepth} levels`, {});
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, 'INVALID_ARGUMENT', 'request body is not valid JSON', {
      parser: err instanceof Error ? err.message.slice(0, 200) : 'parse error',
    });
  }
  // API Gateway hands a JSON body over as already-decoded text, so raw invalid bytes arrive as
  // U+FFFD; and a `\ud800` escape parses into a string no UTF-8 store can hold. Both are the
  // client's mistake, refused here with their field instead of failing later in the SDK (503).
  const malformed = findMalformedText(parsed);
  if (malformed) {
    throw new HttpError(400, 'INVALID_ARGUMENT', `request body field ${malformed.path} ${malformed.message}`, { fields: [malformed] });
  }
  return parsed;
}

/** Maximum bracket depth outside strings, computed before JSON.parse so hostile depth costs nothing. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) max = Math.max(max, ++depth);
    else if (c === 125 || c === 93) depth--;
  }
  return max;
}
