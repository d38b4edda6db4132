import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { createApiHandler, json, pathParameter, queryParameters } from '../core/http/api-handler.ts';
import { jobView } from '../core/jobs/job.ts';

export function createListJobChildrenHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { jobs }) => {
    const page = await jobs.listChildren(pathParameter(event, 'id'), queryParameters(event), caller);
    return json(200, { jobs: page.items.map(jobView), nextCursor: page.nextCursor });
  });
}

export const handler = createListJobChildrenHandler(() => apiDependenciesFromEnvironment());
