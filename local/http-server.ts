import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { errorBody } from '../core/http/api-error.ts';
import { isApiPath, type ConsoleSite } from './console-site.ts';
import {
  fakeLambdaContext,
  fromApiGatewayResult,
  matchRoute,
  newApiGatewayRequestId,
  toApiGatewayEvent,
  type HttpResponse,
} from './api-gateway.ts';

/**
 * Serves the Lambda handlers over HTTP the way API Gateway HTTP API does in front of them: the same
 * route selection, payload-2.0 events, response interpretation, 10 MB request cap, 30 s integration
 * timeout (503), generic 500 for a failed function and CORS preflights answered by the gateway.
 *
 * Shutdown contract: close() stops accepting connections, closes idle keep-alive sockets, lets
 * in-flight requests finish for up to `shutdownGraceMs` (answering them with `connection: close`),
 * then drops whatever is left and resolves.
 */

export type LocalHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResultV2<unknown>>;

export interface CorsOptions {
  /** Origins allowed to call the API; `*` allows any. */
  readonly allowOrigins: readonly string[];
  /** Defaults to the methods of the configured routes. */
  readonly allowMethods?: readonly string[];
  /** Defaults to the headers the API reads: authorization and content-type. */
  readonly allowHeaders?: readonly string[];
  readonly exposeHeaders?: readonly string[];
  /** How long browsers may cache a preflight answer; defaults to 300 s. */
  readonly maxAgeSeconds?: number;
  readonly allowCredentials?: boolean;
}

export interface LocalApiServerOptions {
  readonly routes: readonly { readonly routeKey: string; readonly name: string }[];
  /** One handler per route name; a route without one fails start-up. */
  readonly handlers: Readonly<Record<string, LocalHandler>>;
  /** Defaults to 127.0.0.1: the local platform has no authentication worth exposing to a network. */
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Request body cap; defaults to API Gateway's 10 MB. */
  readonly maxPayloadBytes?: number;
  readonly log?: (line: string) => void;
  /** Integration timeout; defaults to API Gateway's 30 s. */
  readonly timeoutMs?: number;
  readonly cors?: CorsOptions;
  /** How long close() waits for in-flight requests before dropping them; defaults to 3 s. */
  readonly shutdownGraceMs?: number;
  readonly now?: () => Date;
  readonly newRequestId?: () => string;
  /** The web console, answering GET and HEAD on every path outside the API (see console-site.ts). */
  readonly console?: ConsoleSite;
}

export interface LocalApiServer {
  /** `http://host:port`, without a trailing slash. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export const API_GATEWAY_MAX_PAYLOAD_BYTES = 10_485_760;
export const API_GATEWAY_INTEGRATION_TIMEOUT_MS = 30_000;
const DEFAULT_SHUTDOWN_GRACE_MS = 3_000;

// Hop-by-hop and framing headers belong to this connection, not to the handler's response.
const CONNECTION_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'upgrade',
  'te',
  'trailer',
]);

class PayloadTooLargeError extends Error {}

function jsonResponse(statusCode: number, body: unknown): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    cookies: [],
    body: Buffer.from(JSON.stringify(body), 'utf8'),
  };
}

/** Reads the body up to `cap` bytes; rejects with PayloadTooLargeError as soon as it is exceeded. */
function readBody(req: IncomingMessage, cap: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > cap) return Promise.reject(new PayloadTooLargeError());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > cap) {
        cleanup();
        reject(new PayloadTooLargeError());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    // Node fails the request with ECONNRESET when the client disconnects before the whole body.
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function routeMethods(routes: LocalApiServerOptions['routes']): string[] {
  const methods = new Set<string>();
  for (const r of routes) {
    const method = r.routeKey.split(' ')[0];
    if (method === 'ANY') return ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
    if (method && method !== '$default') methods.add(method);
  }
  return [...methods];
}

export async function startLocalApiServer(options: LocalApiServerOptions): Promise<LocalApiServer> {
  const routeKeys = options.routes.map((r) => r.routeKey);
  const nameByRouteKey = new Map(options.routes.map((r) => [r.routeKey, r.name]));
  for (const r of options.routes) {
    if (!options.handlers[r.name]) throw new Error(`no handler for route "${r.routeKey}" (name "${r.name}")`);
    // Parses every key now, so a malformed one fails start-up instead of the first request.
    matchRoute([r.routeKey], 'GET', '/');
  }
  const maxPayloadBytes = options.maxPayloadBytes ?? API_GATEWAY_MAX_PAYLOAD_BYTES;
  const timeoutMs = options.timeoutMs ?? API_GATEWAY_INTEGRATION_TIMEOUT_MS;
  const graceMs = options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  const log = options.log ?? ((line: string) => console.log(line));
  const now = options.now ?? (() => new Date());
  const newRequestId = options.newRequestId ?? newApiGatewayRequestId;
  const cors = options.cors && {
    allowOrigins: options.cors.allowOrigins,
    allowMethods: options.cors.allowMethods ?? routeMethods(options.routes),
    allowHeaders: options.cors.allowHeaders ?? ['authorization', 'content-type'],
    exposeHeaders: options.cors.exposeHeaders ?? [],
    maxAgeSeconds: options.cors.maxAgeSeconds ?? 300,
    allowCredentials: options.cors.allowCredentials ?? false,
  };

  let closing = false;
  // The gateway request id is chosen on arrival, so the log and the apigw-requestid header agree.
  const requestIds = new WeakMap<IncomingMessage, string>();
  const requestIdOf = (req: IncomingMessage) => requestIds.get(req)!;

  const inFlight = new Set<Promise<void>>();

  /** The allowed-origin value for a request's Origin, or undefined when CORS does not apply. */
  const corsOrigin = (origin: string | undefined): string | undefined => {
    if (!cors || !origin) return undefined;
    if (cors.allowOrigins.includes('*')) return cors.allowCredentials ? origin : '*';
    return cors.allowOrigins.includes(origin) ? origin : undefined;
  };

  const isPreflight = (req: IncomingMessage) =>
    cors !== undefined &&
    req.method === 'OPTIONS' &&
    req.headers.origin !== undefined &&
    req.headers['access-control-request-method'] !== undefined;

  const preflightResponse = (req: IncomingMessage): HttpResponse => {
    const allowed = corsOrigin(req.headers.origin);
    // A disallowed origin still gets 204, only without the headers that would let the browser proceed.
    const headers: Record<string, string> = { vary: 'origin' };
    if (allowed && cors) {
      headers['access-control-allow-origin'] = allowed;
      headers['access-control-allow-methods'] = cors.allowMethods.join(',');
      if (cors.allowHeaders.length > 0) headers['access-control-allow-headers'] = cors.allowHeaders.join(',');
      headers['access-control-max-age'] = String(cors.maxAgeSeconds);
      if (cors.allowCredentials) headers['access-control-allow-credentials'] = 'true';
    }
    return { statusCode: 204, headers, cookies: [], body: Buffer.alloc(0) };
  };

  /** Calls the handler under the integration timeout; a late answer or failure is only logged. */
  const invoke = async (
    name: string,
    event: APIGatewayProxyEventV2,
    requestId: string,
  ): Promise<HttpResponse> => {
    const handler = options.handlers[name]!;
    const context = fakeLambdaContext(name, randomUUID(), timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const call = Promise.resolve().then(() => handler(event, context));
    try {
      const result = await Promise.race([call, timedOut]);
      if (result === 'timeout') {
        call.catch((err: unknown) =>
          log(`handler ${name} failed after the integration timeout (${requestId}): ${describe(err)}`),
        );
        log(`handler ${name} exceeded the ${timeoutMs} ms integration timeout (${requestId})`);
        return jsonResponse(503, errorBody('SERVICE_UNAVAILABLE', 'Service Unavailable', {}));
      }
      return fromApiGatewayResult(result);
    } catch (err) {
      // Like API Gateway's generic 500: the cause goes to the log, never to the client.
      log(`handler ${name} failed (${requestId}): ${describe(err)}`);
      return jsonResponse(500, errorBody('INTERNAL', 'Internal Server Error', {}));
    } finally {
      clearTimeout(timer);
    }
  };

  const respond = async (req: IncomingMessage): Promise<HttpResponse> => {
    if (isPreflight(req)) return preflightResponse(req);
    let body: Buffer;
    try {
      body = await readBody(req, maxPayloadBytes);
    } catch (err) {
      if (err instanceof PayloadTooLargeError) {
        return jsonResponse(
          413,
          errorBody('PAYLOAD_TOO_LARGE', `request body exceeds ${maxPayloadBytes} bytes`, {
            maxBytes: maxPayloadBytes,
          }),
        );
      }
      throw err;
    }
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    if (options.console && !isApiPath(path)) {
      const page = await options.console(method, path);
      if (page) return page;
    }
    const match = matchRoute(routeKeys, method, path);
    if (!match) return jsonResponse(404, errorBody('NOT_FOUND', `no route for ${method} ${path}`, {}));
    const requestId = requestIdOf(req);
    const event = toApiGatewayEvent(
      {
        method,
        url,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
        httpVersion: req.httpVersion,
        ...(req.socket.remoteAddress ? { remoteAddress: req.socket.remoteAddress } : {}),
      },
      match,
      { requestId, now: now() },
    );
    return invoke(nameByRouteKey.get(match.routeKey)!, event, requestId);
  };

  const write = (req: IncomingMessage, res: ServerResponse, response: HttpResponse, stopReading: boolean) => {
    if (res.headersSent || res.destroyed) return;
    res.statusCode = response.statusCode;
    for (const [name, value] of Object.entries(response.headers)) {
      if (!CONNECTION_HEADERS.has(name) && name !== 'set-cookie') res.setHeader(name, value);
    }
    if (response.cookies.length > 0) res.setHeader('set-cookie', response.cookies);
    const origin = corsOrigin(req.headers.origin);
    if (origin && cors && !isPreflight(req)) {
      // API Gateway replaces whatever CORS headers the integration returned with the configured ones.
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'origin');
      if (cors.exposeHeaders.length > 0)
        res.setHeader('access-control-expose-headers', cors.exposeHeaders.join(','));
      if (cors.allowCredentials) res.setHeader('access-control-allow-credentials', 'true');
    }
    res.setHeader('apigw-requestid', requestIdOf(req));
    if (closing || stopReading) res.setHeader('connection', 'close');
    const bodyless = response.statusCode === 204 || response.statusCode === 304 || response.statusCode < 200;
    if (bodyless) {
      res.end();
      return;
    }
    res.setHeader('content-length', response.body.length);
    res.end(req.method === 'HEAD' ? undefined : response.body);
  };

  const server = createServer((req, res) => {
    const started = performance.now();
    requestIds.set(req, newRequestId());
    const path = (req.url ?? '/').split('?')[0];
    res.on('close', () => {
      const status = res.headersSent ? res.statusCode : 0;
      log(`${req.method} ${path} ${status} ${Math.round(performance.now() - started)}ms`);
    });
    const done = respond(req)
      .catch((err: unknown) => {
        log(`request failed (${requestIdOf(req)}): ${describe(err)}`);
        return jsonResponse(500, errorBody('INTERNAL', 'Internal Server Error', {}));
      })
      .then((response) => {
        // A refused body is not read further; the connection closes after the answer instead.
        write(req, res, response, response.statusCode === 413);
      });
    const tracked = done.finally(() => {
      inFlight.delete(tracked);
      if (closing) server.closeIdleConnections();
    });
    inFlight.add(tracked);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    close() {
      closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        let graceTimer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((resolve) => {
          graceTimer = setTimeout(resolve, graceMs);
        });
        let graceOver = false;
        void grace.then(() => (graceOver = true));
        // Requests can still arrive on open keep-alive sockets while the first ones drain.
        while (inFlight.size > 0 && !graceOver)
          await Promise.race([Promise.allSettled([...inFlight]), grace]);
        clearTimeout(graceTimer);
        server.closeAllConnections();
        await stopped;
      })();
      return closed;
    },
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
}
