import { useQueryClient } from '@tanstack/react-query';
import { createContext, useContext } from 'react';
import { ApiError, ConnectionError, type RunplaneClient } from '../../cli/api-client.ts';

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

export function isUnauthorized(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401;
}
