import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { createApiHandler, json, queryParameters } from '../core/http/api-handler.ts';

export function createGetUsageHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { usage }) => {
    return json(200, await usage.report(caller, queryParameters(event)));
  });
}

export const handler = createGetUsageHandler(() => apiDependenciesFromEnvironment());
