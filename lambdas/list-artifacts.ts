import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { createJobFilesParts } from '../core/app/job-files-dependencies.ts';
import { createApiHandler, json, pathParameter, queryParameters } from '../core/http/api-handler.ts';
import { filesUnavailable } from '../core/http/files-unavailable.ts';

export function createListArtifactsHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { artifacts }) => {
    if (!artifacts) throw filesUnavailable();
    return json(200, await artifacts.list(pathParameter(event, 'id'), queryParameters(event), caller));
  });
}

export const handler = createListArtifactsHandler(() => apiDependenciesFromEnvironment(() => ({ jobFiles: createJobFilesParts })));
