import { HttpError } from '../core/http/api-error.ts';
import { createApiHandler } from '../core/http/api-handler.ts';

export function createNotFoundHandler() {
  return createApiHandler({ dependencies: async () => ({}) }, async ({ event }) => {
    throw new HttpError(404, 'NOT_FOUND', `no route for ${event.requestContext.http.method} ${event.rawPath}`);
  });
}

export const handler = createNotFoundHandler();
