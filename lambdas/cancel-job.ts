import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { createApiHandler, json, pathParameter } from '../core/http/api-handler.ts';
import { jobView } from '../core/jobs/job.ts';

export function createCancelJobHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { jobs }) => {
    const job = await jobs.cancel(pathParameter(event, 'id'), caller);
    return json(200, jobView(job));
  });
}

export const handler = createCancelJobHandler(() => apiDependenciesFromEnvironment());
