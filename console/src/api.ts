import { useQueryClient } from '@tanstack/react-query';
import { createContext, useContext } from 'react';
import { ApiError, ConnectionError, type RunplaneClient } from '../../cli/api-client.ts';
import { readToken } from './session.ts';

export const ClientContext = createContext<RunplaneClient | null>(null);

/** The signed-in caller's API client; pages only render inside the signed-in layout. */
export function useClient(): RunplaneClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error('useClient outside the signed-in layout');
  return client;
}

export { useQueryClient };

/** The API's message for an error, as the user should read it. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.code}, HTTP ${error.status})`;
  if (error instanceof ConnectionError) return 'Cannot reach the Runplane API. Is the platform running?';
  return error instanceof Error ? error.message : String(error);
}

/** A route the deployment does not serve yet (older API): the page says so instead of failing. */
export function isNotAvailable(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404;
}

/**
 * A 404 that says the route itself is missing (`no route for PATCH …`, or a gateway's own 404
 * body), as opposed to a 404 about the thing the route names (`job … not found`).
 */
export function isRouteMissing(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404 && (error.code !== 'NOT_FOUND' || error.message.startsWith('no route'));
}

export function isUnauthorized(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401;
}

/**
 * A JSON PUT or PATCH (group settings, a job's priority): methods the shared client has no
 * wrapper for on every deployment. Same bearer token, same error shapes as the client's calls.
 */
export async function sendJson<T>(method: 'PUT' | 'PATCH', path: `/${string}`, body: unknown): Promise<T> {
  const token = readToken();
  let response: Response;
  try {
    response = await globalThis.fetch(window.location.origin + path, {
      method,
      headers: { accept: 'application/json', 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  } catch (error) {
    throw new ConnectionError(window.location.origin, undefined, { cause: error });
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (response.ok) return parsed as T;
  const error = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  throw new ApiError(
    response.status,
    typeof error?.code === 'string' ? error.code : `HTTP_${response.status}`,
    typeof error?.message === 'string' ? error.message : text.slice(0, 200) || response.statusText,
    error?.details && typeof error.details === 'object' ? (error.details as Record<string, unknown>) : {},
  );
}
