import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { createApiHandler, json } from '../core/http/api-handler.ts';

export function createListWorkersHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ caller }, { jobs }) => {
    return json(200, { workers: await jobs.listWorkers(caller) });
  });
}

export const handler = createListWorkersHandler(() => apiDependenciesFromEnvironment());
