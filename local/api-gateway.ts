import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';

/**
 * What API Gateway HTTP API (payload format 2.0) does between a client and a Lambda handler, as pure
 * functions: route selection, the event it sends, and how it reads the handler's answer. The local
 * HTTP server (local/http-server.ts) is only I/O around these, so the handlers see locally exactly
 * the events they see in AWS.
 *
 * Behaviours chosen where the AWS documentation is silent, each matching what deployed HTTP APIs do:
 * - a trailing slash is ignored when matching (`/v1/jobs/` selects `GET /v1/jobs`) but kept in rawPath;
 * - path parameters are matched on the raw path and then percent-decoded, so `%2F` stays inside one
 *   `{id}`; a malformed escape is passed through undecoded instead of failing the request;
 * - query parameter values are form-decoded (`+` is a space); rawQueryString stays as received;
 * - the Cookie header moves to `cookies` and is not repeated in `headers`.
 */

/** Stand-ins for the account and API ids the event carries; nothing reads them locally. */
export const LOCAL_ACCOUNT_ID = '000000000000';
export const LOCAL_API_ID = 'local';
export const LOCAL_REGION = 'us-east-1';

export interface IncomingHttpRequest {
  readonly method: string;
  /** Path and query string exactly as received (`/v1/jobs?limit=5`). */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Node's name/value list: preserves repeated headers that `headers` merges or drops. */
  readonly rawHeaders?: readonly string[];
  readonly body: Buffer;
  readonly remoteAddress?: string;
  /** `1.1` as in node's `req.httpVersion`; defaults to 1.1. */
  readonly httpVersion?: string;
}

export interface RouteMatch {
  readonly routeKey: string;
  readonly pathParameters: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------
// Route matching
// ---------------------------------------------------------------------------------------------

export const DEFAULT_ROUTE_KEY = '$default';

type TemplateSegment =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'greedy'; readonly name: string };

interface CompiledRoute {
  readonly routeKey: string;
  /** Upper-case method, or `ANY`. */
  readonly method: string;
  readonly segments: readonly TemplateSegment[];
}

const ROUTE_KEY_PATTERN = /^([A-Z]+) (\/[^\s?#]*)$/;

/** Parses `METHOD /a/{b}/{rest+}`; throws on a key API Gateway would refuse to create. */
function compileRoute(routeKey: string): CompiledRoute {
  const m = ROUTE_KEY_PATTERN.exec(routeKey);
  if (!m) throw new Error(`invalid route key "${routeKey}": expected "METHOD /path" or "$default"`);
  const [, method = '', path = ''] = m;
  const raw = path === '/' ? [] : path.slice(1).split('/');
  const segments = raw.map((s, i): TemplateSegment => {
    const greedy = /^\{([A-Za-z0-9_.-]+)\+\}$/.exec(s);
    if (greedy) {
      if (i !== raw.length - 1)
        throw new Error(`invalid route key "${routeKey}": a greedy variable must be last`);
      return { kind: 'greedy', name: greedy[1]! };
    }
    const param = /^\{([A-Za-z0-9_.-]+)\}$/.exec(s);
    if (param) return { kind: 'param', name: param[1]! };
    if (s === '' || /[{}]/.test(s)) throw new Error(`invalid route key "${routeKey}": bad segment "${s}"`);
    return { kind: 'literal', value: s };
  });
  return { routeKey, method, segments };
}

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Rank per template segment: literal beats `{param}` beats `{proxy+}`. */
const SEGMENT_RANK = { literal: 2, param: 1, greedy: 0 } as const;

/** Higher sorts first: full matches before greedy ones, then segment by segment, then method over ANY. */
function specificity(route: CompiledRoute): number[] {
  const greedy = route.segments.some((s) => s.kind === 'greedy');
  return [greedy ? 0 : 1, ...route.segments.map((s) => SEGMENT_RANK[s.kind]), route.method === 'ANY' ? 0 : 1];
}

function compareSpecificity(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (b[i] ?? -1) - (a[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

function matchSegments(
  template: readonly TemplateSegment[],
  path: readonly string[],
): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const t = template[i]!;
    if (t.kind === 'greedy') {
      const rest = path.slice(i);
      if (rest.length === 0 || rest.join('/') === '') return undefined;
      params[t.name] = decodeSegment(rest.join('/'));
      return params;
    }
    const seg = path[i];
    if (seg === undefined) return undefined;
    if (t.kind === 'literal') {
      if (decodeSegment(seg) !== t.value) return undefined;
    } else {
      // `{id}` needs a non-empty segment: `/v1/jobs//cancel` is not a cancel of job "".
      if (seg === '') return undefined;
      params[t.name] = decodeSegment(seg);
    }
  }
  return path.length === template.length ? params : undefined;
}

/**
 * Selects the route API Gateway would: exact segments, `{name}` for one non-empty segment,
 * `{name+}` for the rest of the path; the most specific match wins and `$default` catches the rest.
 * `path` is the raw request path without the query string.
 *
 * @example matchRoute(['GET /v1/jobs/{id}', '$default'], 'GET', '/v1/jobs/01J') // { routeKey: 'GET /v1/jobs/{id}', pathParameters: { id: '01J' } }
 */
export function matchRoute(
  routeKeys: readonly string[],
  method: string,
  path: string,
): RouteMatch | undefined {
  const upper = method.toUpperCase();
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const segments = trimmed === '/' || trimmed === '' ? [] : trimmed.slice(1).split('/');
  let best: { route: CompiledRoute; rank: number[]; params: Record<string, string> } | undefined;
  for (const key of routeKeys) {
    if (key === DEFAULT_ROUTE_KEY) continue;
    const route = compileRoute(key);
    if (route.method !== upper && route.method !== 'ANY') continue;
    const params = matchSegments(route.segments, segments);
    if (!params) continue;
    const rank = specificity(route);
    if (!best || compareSpecificity(rank, best.rank) < 0) best = { route, rank, params };
  }
  if (best) return { routeKey: best.route.routeKey, pathParameters: best.params };
  return routeKeys.includes(DEFAULT_ROUTE_KEY)
    ? { routeKey: DEFAULT_ROUTE_KEY, pathParameters: {} }
    : undefined;
}

// ---------------------------------------------------------------------------------------------
// Request → event
// ---------------------------------------------------------------------------------------------

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** `12/Mar/2020:19:03:58 +0000`, the CLF time API Gateway puts in requestContext.time. */
export function formatRequestTime(d: Date): string {
  return (
    `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`
  );
}

/** An id shaped like API Gateway's (`JKJaXmPLvHcESHA=`): 11 random bytes in base64. */
export function newApiGatewayRequestId(): string {
  return randomBytes(11).toString('base64');
}

/**
 * Content types API Gateway passes as text; everything else (including a missing content type)
 * reaches the handler base64-encoded with isBase64Encoded true.
 */
const TEXTUAL_CONTENT_TYPE =
  /^(text\/[^;]+|application\/(json|xml|javascript|x-www-form-urlencoded|graphql|x-ndjson|yaml|x-yaml)|application\/[^;]+\+(json|xml))\s*(;|$)/i;

export function isTextualContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && TEXTUAL_CONTENT_TYPE.test(contentType.trim());
}

/** Header name/value pairs in arrival order: rawHeaders when given, else node's merged record. */
function headerPairs(req: IncomingHttpRequest): [string, string][] {
  if (req.rawHeaders) {
    const pairs: [string, string][] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
      pairs.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
    return pairs;
  }
  return Object.entries(req.headers).flatMap(([name, value]): [string, string][] =>
    value === undefined
      ? []
      : Array.isArray(value)
        ? value.map((v): [string, string] => [name, v])
        : [[name, value]],
  );
}

function splitUrl(url: string): { rawPath: string; rawQueryString: string } {
  // Absolute-form request targets (`GET http://host/path`) come from proxies; keep only the path.
  const target = url.startsWith('/') ? url : url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '') || '/';
  const withoutFragment = target.split('#')[0] ?? '';
  const q = withoutFragment.indexOf('?');
  return q === -1
    ? { rawPath: withoutFragment || '/', rawQueryString: '' }
    : { rawPath: withoutFragment.slice(0, q) || '/', rawQueryString: withoutFragment.slice(q + 1) };
}

function formDecode(s: string): string {
  return decodeSegment(s.replace(/\+/g, ' '));
}

function parseQueryString(raw: string): Record<string, string> | undefined {
  if (raw === '') return undefined;
  const params: Record<string, string> = {};
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = formDecode(eq === -1 ? part : part.slice(0, eq));
    const value = eq === -1 ? '' : formDecode(part.slice(eq + 1));
    params[name] = name in params ? `${params[name]},${value}` : value;
  }
  return Object.keys(params).length > 0 ? params : undefined;
}

/** `::ffff:127.0.0.1` (an IPv4 client on a dual-stack socket) is reported as `127.0.0.1`, as AWS does. */
function normaliseIp(address: string | undefined): string {
  if (!address) return '127.0.0.1';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export interface EventOptions {
  readonly requestId: string;
  readonly now: Date;
  /** Defaults to `$default`, the only stage the HTTP API has; the rawPath never carries it. */
  readonly stage?: string;
  readonly accountId?: string;
  readonly apiId?: string;
}

/**
 * Builds the payload-2.0 event API Gateway sends for `req` on the selected route.
 *
 * @example toApiGatewayEvent(req, matchRoute(keys, req.method, path)!, { requestId: 'abc=', now: new Date() })
 */
export function toApiGatewayEvent(
  req: IncomingHttpRequest,
  match: RouteMatch,
  opts: EventOptions,
): APIGatewayProxyEventV2 {
  const { rawPath, rawQueryString } = splitUrl(req.url);
  const sourceIp = normaliseIp(req.remoteAddress);

  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [rawName, value] of headerPairs(req)) {
    const name = rawName.toLowerCase();
    if (name === 'cookie') {
      cookies.push(
        ...value
          .split(';')
          .map((c) => c.trim())
          .filter((c) => c !== ''),
      );
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  // API Gateway is the proxy in front of the function: it appends the client address and says how
  // the client connected, as any reverse proxy does.
  const host = headers['host'] ?? 'localhost';
  headers['x-forwarded-for'] = headers['x-forwarded-for']
    ? `${headers['x-forwarded-for']}, ${sourceIp}`
    : sourceIp;
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-port'] = /:(\d+)$/.exec(host)?.[1] ?? '80';

  const contentType = headers['content-type'];
  const hasBody = req.body.length > 0;
  const textual = isTextualContentType(contentType);
  const method = req.method.toUpperCase();
  const queryStringParameters = parseQueryString(rawQueryString);
  const pathParameters =
    Object.keys(match.pathParameters).length > 0 ? { ...match.pathParameters } : undefined;

  return {
    version: '2.0',
    routeKey: match.routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext: {
      accountId: opts.accountId ?? LOCAL_ACCOUNT_ID,
      apiId: opts.apiId ?? LOCAL_API_ID,
      // The port stays in the domain name so URLs a handler builds from it reach this server.
      domainName: host,
      domainPrefix: host.replace(/:\d+$/, '').split('.')[0] ?? host,
      http: {
        method,
        path: rawPath,
        protocol: `HTTP/${req.httpVersion ?? '1.1'}`,
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: opts.requestId,
      routeKey: match.routeKey,
      stage: opts.stage ?? '$default',
      time: formatRequestTime(opts.now),
      timeEpoch: opts.now.getTime(),
    },
    ...(pathParameters ? { pathParameters } : {}),
    ...(hasBody ? { body: textual ? req.body.toString('utf8') : req.body.toString('base64') } : {}),
    isBase64Encoded: hasBody && !textual,
  };
}

// ---------------------------------------------------------------------------------------------
// Result → response
// ---------------------------------------------------------------------------------------------

/** Lambda refuses synchronous responses over 6 MB; API Gateway then answers 500. */
export const LAMBDA_MAX_RESPONSE_BYTES = 6 * 1024 * 1024;

/** The handler's answer is not a response API Gateway can send (API Gateway answers 500). */
export class MalformedLambdaResponseError extends Error {
  constructor(message: string) {
    super(`malformed Lambda proxy response: ${message}`);
    this.name = 'MalformedLambdaResponseError';
  }
}

export interface HttpResponse {
  readonly statusCode: number;
  /** Lower-cased names; Set-Cookie travels in `cookies`. */
  readonly headers: Record<string, string>;
  readonly cookies: string[];
  readonly body: Buffer;
}

type HeaderScalar = string | number | boolean;
const isScalar = (v: unknown): v is HeaderScalar =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/**
 * Reads a handler's result as API Gateway does for payload 2.0. The result first goes through
 * JSON, as it does on its way out of Lambda (so `undefined` arrives as `null`, Dates as strings).
 * An object with `statusCode` is a structured response; anything else is sent as status 200,
 * content-type application/json, with a string as it is and any other value as its JSON.
 *
 * @throws MalformedLambdaResponseError for a structured response API Gateway would refuse (500).
 */
export function fromApiGatewayResult(result: APIGatewayProxyResultV2<unknown> | undefined): HttpResponse {
  const wire = JSON.stringify(result) ?? 'null';
  if (Buffer.byteLength(wire, 'utf8') > LAMBDA_MAX_RESPONSE_BYTES) {
    throw new MalformedLambdaResponseError(`response payload exceeds ${LAMBDA_MAX_RESPONSE_BYTES} bytes`);
  }
  const value = JSON.parse(wire) as unknown;
  const inferred = (body: string): HttpResponse => ({
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    cookies: [],
    body: Buffer.from(body, 'utf8'),
  });
  if (typeof value === 'string') return inferred(value);
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !('statusCode' in value))
    return inferred(wire);

  const r = value as Record<string, unknown>;
  const statusCode = r['statusCode'];
  if (
    typeof statusCode !== 'number' ||
    !Number.isInteger(statusCode) ||
    statusCode < 100 ||
    statusCode > 599
  ) {
    throw new MalformedLambdaResponseError(`statusCode ${JSON.stringify(statusCode)} is not an HTTP status`);
  }

  const headers: Record<string, string> = {};
  const rawHeaders = r['headers'] ?? {};
  if (typeof rawHeaders !== 'object' || rawHeaders === null || Array.isArray(rawHeaders)) {
    throw new MalformedLambdaResponseError('headers must be an object');
  }
  for (const [name, v] of Object.entries(rawHeaders)) {
    if (!isScalar(v))
      throw new MalformedLambdaResponseError(`header ${name} must be a string, number or boolean`);
    headers[name.toLowerCase()] = String(v);
  }
  // Not part of the 2.0 response format, but handlers written for 1.0 return it: repeated values are
  // joined as HTTP allows, and a name also present in `headers` keeps that value.
  const multi = r['multiValueHeaders'] ?? {};
  if (typeof multi !== 'object' || multi === null || Array.isArray(multi)) {
    throw new MalformedLambdaResponseError('multiValueHeaders must be an object');
  }
  for (const [name, values] of Object.entries(multi)) {
    if (!Array.isArray(values) || !values.every(isScalar)) {
      throw new MalformedLambdaResponseError(`multiValueHeaders.${name} must be an array of scalars`);
    }
    const lower = name.toLowerCase();
    if (!(lower in headers) && values.length > 0) headers[lower] = values.map(String).join(', ');
  }

  const cookies = r['cookies'] ?? [];
  if (!Array.isArray(cookies) || !cookies.every((c): c is string => typeof c === 'string')) {
    throw new MalformedLambdaResponseError('cookies must be an array of strings');
  }

  const body = r['body'] ?? '';
  if (typeof body !== 'string') throw new MalformedLambdaResponseError('body must be a string');
  const isBase64Encoded = r['isBase64Encoded'] ?? false;
  if (typeof isBase64Encoded !== 'boolean')
    throw new MalformedLambdaResponseError('isBase64Encoded must be a boolean');

  return {
    statusCode,
    headers,
    cookies: [...cookies],
    body: isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8'),
  };
}

// ---------------------------------------------------------------------------------------------
// Lambda context
// ---------------------------------------------------------------------------------------------

/**
 * The Context a Node.js Lambda runtime passes, for a function invoked locally. The remaining time
 * counts down from the call, so handlers that budget their work against it behave as in AWS.
 */
export function fakeLambdaContext(
  functionName: string,
  requestId: string,
  timeoutMs = 30_000,
  now: () => number = Date.now,
): Context {
  const deadline = now() + timeoutMs;
  const unsupported = (name: string) => () => {
    throw new Error(
      `context.${name}() is not supported locally: return a value or throw from an async handler`,
    );
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${requestId.replace(/-/g, '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
    done: unsupported('done'),
    fail: unsupported('fail'),
    succeed: unsupported('succeed'),
  };
}
