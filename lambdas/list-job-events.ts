import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { logArchiveDependencies } from '../core/app/log-archive-dependencies.ts';
import { createApiHandler, json, pathParameter, queryParameters } from '../core/http/api-handler.ts';

export function createListJobEventsHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { jobs }) => {
    const page = await jobs.listEvents(pathParameter(event, 'id'), queryParameters(event), caller);
    return json(200, page);
  });
}

export const handler = createListJobEventsHandler(() => apiDependenciesFromEnvironment(logArchiveDependencies));
