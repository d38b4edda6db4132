import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { dispatchDependencies } from '../core/app/dispatch-dependencies.ts';
import { createApiHandler, json, pathParameter } from '../core/http/api-handler.ts';
import { jobView } from '../core/jobs/job-view.ts';

export function createCancelJobHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { jobs }) => {
    const job = await jobs.cancel(pathParameter(event, 'id'), caller);
    return json(200, jobView(job));
  });
}

// A cancelled queued job releases the jobs that wait for it: this route sends messages too.
export const handler = createCancelJobHandler(() => apiDependenciesFromEnvironment(dispatchDependencies));
