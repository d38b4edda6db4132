import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { Caller } from '../auth/caller.ts';
import { HttpError, mapError } from './api-error.ts';

export type ApiResult = APIGatewayProxyStructuredResultV2;
export type ApiHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<ApiResult>;

/** Resolves the caller from the request, or throws HttpError 401. */
export type Authenticator = (event: APIGatewayProxyEventV2) => Promise<Caller>;

export interface ApiRequest {
  readonly event: APIGatewayProxyEventV2;
  readonly caller: Caller;
}

export type Logger = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export const jsonLogger: Logger = (level, message, fields = {}) => {
  const line = JSON.stringify({ level, message, time: new Date().toISOString(), ...fields });
  if (level === 'error') console.error(line);
  else console.log(line);
};

/** Request-size limits checked before anything else (bodies are checked by parseJsonBody). */
export const REQUEST_LIMITS = {
  maxQueryStringBytes: 4096,
  maxHeaderBytes: 16 * 1024,
  maxPathBytes: 1024,
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

function requestLimits(): MiddlewareObj<APIGatewayProxyEventV2, ApiResult> {
  return {
    before: ({ event }) => {
      if (Buffer.byteLength(event.rawQueryString ?? '', 'utf8') > REQUEST_LIMITS.maxQueryStringBytes) {
        throw new HttpError(414, 'URI_TOO_LONG', `query string exceeds ${REQUEST_LIMITS.maxQueryStringBytes} bytes`);
      }
      if (Buffer.byteLength(event.rawPath ?? '', 'utf8') > REQUEST_LIMITS.maxPathBytes) {
        throw new HttpError(414, 'URI_TOO_LONG', `path exceeds ${REQUEST_LIMITS.maxPathBytes} bytes`);
      }
      let headerBytes = 0;
      for (const [k, v] of Object.entries(event.headers ?? {})) headerBytes += k.length + (v?.length ?? 0);
      if (headerBytes > REQUEST_LIMITS.maxHeaderBytes) {
        throw new HttpError(431, 'HEADERS_TOO_LARGE', `headers exceed ${REQUEST_LIMITS.maxHeaderBytes} bytes`);
      }
    },
  };
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
      request.response = json(mapped.statusCode, mapped.body);
    },
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
    .use(errorResponder(log))
    .use(requestLimits())
    .handler(async (event) => {
      const deps = await options.dependencies();
      const caller = options.authenticate ? await options.authenticate(deps)(event) : anonymous;
      return route({ event, caller }, deps);
    });
  return handler as unknown as ApiHandler;
}

export function pathParameter(event: APIGatewayProxyEventV2, name: string): string {
  const value = event.pathParameters?.[name];
  if (value === undefined || value === '') {
    throw new HttpError(400, 'INVALID_ARGUMENT', `missing path parameter ${name}`, { fields: [{ path: name, message: 'required' }] });
  }
  return value;
}

/** Query parameters as a plain object; repeated parameters (joined with ',' by API Gateway) stay joined. */
export function queryParameters(event: APIGatewayProxyEventV2): Record<string, string> {
  return { ...(event.queryStringParameters ?? {}) } as Record<string, string>;
}
