import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { createApiHandler, groupPathParameter, json } from '../core/http/api-handler.ts';

export function createGetGroupHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { groups }) => {
    return json(200, { group: await groups.get(groupPathParameter(event), caller) });
  });
}

export const handler = createGetGroupHandler(() => apiDependenciesFromEnvironment());
