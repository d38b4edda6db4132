import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { createApiHandler, json, pathParameter } from '../core/http/api-handler.ts';

export function createRevokeApiKeyHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { apiKeys }) => {
    return json(200, await apiKeys.revoke(pathParameter(event, 'id'), caller));
  });
}

export const handler = createRevokeApiKeyHandler(() => apiDependenciesFromEnvironment());
