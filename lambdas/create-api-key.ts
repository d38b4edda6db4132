import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { createApiHandler, json } from '../core/http/api-handler.ts';
import { parseJsonBody } from '../core/http/json-body.ts';

export function createCreateApiKeyHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { apiKeys }) => {
    const body = parseJsonBody(event.headers ?? {}, event.body, event.isBase64Encoded);
    const created = await apiKeys.create(body, caller);
    // The only response that ever carries the key: no caching anywhere (json() sets no-store).
    return json(201, created, { location: `/v1/api-keys/${created.id}` });
  });
}

export const handler = createCreateApiKeyHandler(() => apiDependenciesFromEnvironment());
