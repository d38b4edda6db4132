/**
 * The CLI's HTTP transport, on `node:http` / `node:https` instead of `fetch`. On Node 20 the first
 * `fetch` loads undici (tens of milliseconds) and its pooled connection then holds the process
 * open for about 150 ms after the command is done, which alone would double the start-to-exit
 * time of `runplane get` (bench/cli-startup.ts). Idle keep-alive sockets are unreferenced by the
 * agent, so the process exits as soon as the command is done, and `--follow` still reuses one
 * connection for its polls.
 *
 * Errors mirror `fetch`'s: a network failure rejects with a `TypeError` whose `cause` carries the
 * system error code, an abort with the signal's `AbortError`, so `networkErrorCode` reads both.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { HttpResponse, HttpTransport } from './api-client.ts';

const httpAgent = new HttpAgent({ keepAlive: true });
const httpsAgent = new HttpsAgent({ keepAlive: true });

function responseOf(message: IncomingMessage, body: Buffer): HttpResponse {
  const status = message.statusCode ?? 0;
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText: message.statusMessage ?? '',
    headers: {
      get(name) {
        const value = message.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
    // The body is already read in full: nothing to cancel.
    body: { cancel: async () => undefined },
    text: async () => body.toString('utf8'),
  };
}

export const nodeHttpTransport: HttpTransport = (url, init) =>
  new Promise((resolveResponse, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const body = init.body === undefined ? undefined : Buffer.from(init.body, 'utf8');
    const req = send(
      target,
      {
        method: init.method,
        headers: { ...init.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        agent: target.protocol === 'https:' ? httpsAgent : httpAgent,
        signal: init.signal,
      },
      (message) => {
        const chunks: Buffer[] = [];
        message.on('data', (chunk: Buffer) => chunks.push(chunk));
        message.on('end', () => resolveResponse(responseOf(message, Buffer.concat(chunks))));
        message.on('error', (error) => reject(asFetchError(error)));
      },
    );
    req.on('error', (error) => reject(asFetchError(error)));
    req.end(body);
  });

function asFetchError(error: Error): Error {
  if (error.name === 'AbortError' || error.name === 'TimeoutError') return error;
  return new TypeError('fetch failed', { cause: error });
}
