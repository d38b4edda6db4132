import { isUtf8 } from 'node:buffer';
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Caller } from '../auth/caller.ts';
import type { Logger } from '../logger.ts';
import { HttpError, mapError } from './api-error.ts';
import { observability, recordRequest } from '../observability/observability.ts';

export type { Authenticator, Logger };

export type ApiResult = APIGatewayProxyStructuredResultV2;
export type ApiHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<ApiResult>;

export interface ApiRequest {
  readonly event: APIGatewayProxyEventV2;
  readonly caller: Caller;
}

/** The process's structured logger (core/observability), read at each call so configuration applies. */
export const jsonLogger: Logger = (level, message, fields = {}) => observability().log(level, message, fields);

/** Request-size limits checked before anything else (bodies are checked by parseJsonBody). */
export const REQUEST_LIMITS = {
  maxQueryStringBytes: 4096,
  maxQueryParameters: 32,
  maxHeaderBytes: 16 * 1024,
  maxHeaders: 100,
  maxPathBytes: 1024,
  maxPathParameterLength: 128,
} as const;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

export function text(statusCode: number, body: string, headers: Record<string, string> = {}): ApiResult {
  return {
    statusCode,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body,
  };
}

/**
 * Exact bytes: `text/plain` when they are UTF-8 (readable in a browser), otherwise
 * `application/octet-stream` sent base64 with isBase64Encoded, which API Gateway (and the local
 * adapter) decode back to the raw bytes.
 */
export function bytes(statusCode: number, body: Buffer, headers: Record<string, string> = {}): ApiResult {
  const utf8 = isUtf8(body);
  return {
    statusCode,
    headers: {
      'content-type': utf8 ? 'text/plain; charset=utf-8' : 'application/octet-stream',
      'cache-control': 'no-store',
      ...headers,
    },
    body: body.toString(utf8 ? 'utf8' : 'base64'),
    ...(utf8 ? {} : { isBase64Encoded: true }),
  };
}

// C0/C1 controls, and U+FFFD: what a decoder leaves where the bytes were not UTF-8.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_OR_REPLACEMENT = /[\u0000-\u001f\u007f-\u009f\ufffd]/;
// Ids in paths are ULIDs or similar tokens: unreserved URL characters only, so `..`, `/` (`%2F`),
// `%00` and friends never reach a key lookup.
const SAFE_PATH_PARAMETER = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;

function invalidRequest(message: string, path: string): HttpError {
  return new HttpError(400, 'INVALID_ARGUMENT', message, { fields: [{ path, message: 'invalid' }] });
}

/**
 * Refuses malformed requests before authentication or any lookup: oversized path, query string
 * and headers; too many of them; control characters or undecodable bytes in query parameters;
 * path parameters that are empty, too long or path-like.
 */
function requestLimits(): MiddlewareObj<APIGatewayProxyEventV2, ApiResult> {
  return {
    before: ({ event }) => {
      if (Buffer.byteLength(event.rawQueryString ?? '', 'utf8') > REQUEST_LIMITS.maxQueryStringBytes) {
        throw new HttpError(414, 'URI_TOO_LONG', `query string exceeds ${REQUEST_LIMITS.maxQueryStringBytes} bytes`);
      }
      if (Buffer.byteLength(event.rawPath ?? '', 'utf8') > REQUEST_LIMITS.maxPathBytes) {
        throw new HttpError(414, 'URI_TOO_LONG', `path exceeds ${REQUEST_LIMITS.maxPathBytes} bytes`);
      }
      const headers = Object.entries(event.headers ?? {});
      let headerBytes = 0;
      for (const [k, v] of headers) headerBytes += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(v ?? '', 'utf8');
      if (headerBytes > REQUEST_LIMITS.maxHeaderBytes || headers.length > REQUEST_LIMITS.maxHeaders) {
        throw new HttpError(431, 'HEADERS_TOO_LARGE', `headers exceed ${REQUEST_LIMITS.maxHeaderBytes} bytes or ${REQUEST_LIMITS.maxHeaders} fields`);
      }
      const query = Object.entries(event.queryStringParameters ?? {});
      if (query.length > REQUEST_LIMITS.maxQueryParameters) {
        throw new HttpError(414, 'URI_TOO_LONG', `more than ${REQUEST_LIMITS.maxQueryParameters} query parameters`);
      }
      for (const [name, value] of query) {
        // A `%` left after decoding is an undecodable sequence (`%FF`) or a literal percent, which
        // no parameter of this API accepts.
        if (CONTROL_OR_REPLACEMENT.test(name) || CONTROL_OR_REPLACEMENT.test(value ?? '') || (value ?? '').includes('%')) {
          throw invalidRequest('query parameters must be valid UTF-8 without control characters', `query.${safeName(name)}`);
        }
      }
      for (const [name, value] of Object.entries(event.pathParameters ?? {})) {
        // A greedy `{path+}` holds slashes by design, a group name may hold `/`, `@` and `:`:
        // their routes check them as what they are.
        if (!SELF_CHECKED_PATH_PARAMETERS.has(name)) checkPathParameter(name, value);
      }
    },
  };
}

/**
 * Path parameters that are not ids: file paths (`GET /v1/jobs/{id}/artifacts/{path+}`) and group
 * names (`/v1/groups/{group}`, URL-encoded; checked against GROUP_NAME_PATTERN by the group service).
 */
const SELF_CHECKED_PATH_PARAMETERS = new Set(['path', 'group']);

/** A `{path+}` parameter: present and free of control characters; what it may name is the route's business. */
export function filePathParameter(event: APIGatewayProxyEventV2, name: string): string {
  const value = event.pathParameters?.[name];
  if (value === undefined || value === '' || CONTROL_OR_REPLACEMENT.test(value)) {
    throw invalidRequest(`path parameter ${name} must be a file path`, name);
  }
  return value;
}

/** The `{group}` parameter, free of control characters; the group service checks it is a group name. */
export function groupPathParameter(event: APIGatewayProxyEventV2): string {
  const value = event.pathParameters?.group;
  if (value === undefined || value === '' || value.length > REQUEST_LIMITS.maxPathParameterLength || CONTROL_OR_REPLACEMENT.test(value)) {
    throw invalidRequest('path parameter group must be a group name like "ml-team"', 'group');
  }
  return value;
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '?').slice(0, 64);
}

function checkPathParameter(name: string, value: string | undefined): string {
  if (value === undefined || value === '') {
    throw new HttpError(400, 'INVALID_ARGUMENT', `missing path parameter ${name}`, { fields: [{ path: name, message: 'required' }] });
  }
  if (value.length > REQUEST_LIMITS.maxPathParameterLength || !SAFE_PATH_PARAMETER.test(value)) {
    throw invalidRequest(`path parameter ${name} is not a valid id`, name);
  }
  return value;
}

/** Turns every thrown error into the API's error shape; internal causes are logged, never returned. */
function errorResponder(log: Logger): MiddlewareObj<APIGatewayProxyEventV2, ApiResult> {
  return {
    onError: (request) => {
      const mapped = mapError(request.error);
      if (mapped.internal) {
        const err = request.error;
        log('error', 'request failed', {
          route: request.event.routeKey,
          requestId: request.event.requestContext?.requestId,
          error: err instanceof Error ? { name: err.name, message: err.message, cause: String(err.cause ?? '') } : String(err),
        });
      }
      // RFC 6750: a 401 names the scheme to use, and nothing about why the credential failed.
      request.response = json(mapped.statusCode, mapped.body, mapped.statusCode === 401 ? { 'www-authenticate': 'Bearer' } : {});
    },
  };
}

/**
 * One line and one metrics document per answered request (status, route, latency; never headers
 * or bodies). Registered first, so its `after` runs last and sees the response errorResponder made.
 */
function requestTelemetry(): MiddlewareObj<APIGatewayProxyEventV2, ApiResult> {
  const started = new WeakMap<APIGatewayProxyEventV2, number>();
  const record = (event: APIGatewayProxyEventV2, response: ApiResult | null | undefined) => {
    recordRequest(observability(), {
      requestId: event.requestContext?.requestId,
      route: event.routeKey,
      method: event.requestContext?.http?.method ?? '',
      path: event.rawPath,
      status: response?.statusCode ?? 500,
      durationMs: Date.now() - (started.get(event) ?? Date.now()),
    });
  };
  return {
    before: ({ event }) => void started.set(event, Date.now()),
    after: ({ event, response }) => record(event, response),
    onError: ({ event, response }) => record(event, response),
  };
}

export interface ApiHandlerOptions<D> {
  /** Builds the dependencies once per container (or per local platform), on first use. */
  readonly dependencies: () => Promise<D>;
  /** Omitted for public routes (the health check). */
  readonly authenticate?: (deps: D) => Authenticator;
  readonly log?: Logger;
}

/**
 * The shape every Lambda handler shares: limits → authenticate → route → respond, with errors mapped
 * to `{"error":{code,message,details}}`. Route functions only parse, call one core function and
 * shape the response.
 */
export function createApiHandler<D>(
  options: ApiHandlerOptions<D>,
  route: (request: ApiRequest, deps: D) => Promise<ApiResult>,
): ApiHandler {
  const log = options.log ?? jsonLogger;
  const anonymous: Caller = { subject: 'anonymous', role: 'viewer', groups: [] };
  const handler = middy<APIGatewayProxyEventV2, ApiResult>()
    .use(requestTelemetry())
    .use(errorResponder(log))
    .use(requestLimits())
    .handler(async (event) => {
      const deps = await options.dependencies();
      const caller = options.authenticate ? await options.authenticate(deps)(event) : anonymous;
      return route({ event, caller }, deps);
    });
  return handler as unknown as ApiHandler;
}

/** A path parameter, checked like every one in requestLimits (non-empty, short, not path-like). */
export function pathParameter(event: APIGatewayProxyEventV2, name: string): string {
  return checkPathParameter(name, event.pathParameters?.[name]);
}

/** Query parameters as a plain object; repeated parameters (joined with ',' by API Gateway) stay joined. */
export function queryParameters(event: APIGatewayProxyEventV2): Record<string, string> {
  return { ...(event.queryStringParameters ?? {}) } as Record<string, string>;
}
