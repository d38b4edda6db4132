import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { createApiHandler, json } from '../core/http/api-handler.ts';

export function createListGroupsHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ caller }, { groups }) => {
    return json(200, { groups: await groups.list(caller) });
  });
}

export const handler = createListGroupsHandler(() => apiDependenciesFromEnvironment());
