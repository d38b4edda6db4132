import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { createApiHandler, json, queryParameters } from '../core/http/api-handler.ts';

export function createListApiKeysHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { apiKeys }) => {
    const page = await apiKeys.list(queryParameters(event), caller);
    return json(200, { keys: page.items, nextCursor: page.nextCursor });
  });
}

export const handler = createListApiKeysHandler(() => apiDependenciesFromEnvironment());
