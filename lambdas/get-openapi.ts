import { buildOpenApiDocument } from '../core/api/openapi-document.ts';
import { createApiHandler, json } from '../core/http/api-handler.ts';
import { ROUTES } from './routes.ts';

/** `GET /v1/openapi.json`, without authentication: the contract is no secret. Built once per container. */
export function createGetOpenApiHandler() {
  let document: Record<string, unknown> | undefined;
  return createApiHandler({ dependencies: async () => ({}) }, async () => {
    document ??= buildOpenApiDocument(ROUTES);
    // Unlike the data routes, the document may be cached: it changes only with a deployment.
    return json(200, document, { 'cache-control': 'public, max-age=300' });
  });
}

export const handler = createGetOpenApiHandler();
