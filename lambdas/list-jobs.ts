import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { createApiHandler, json, queryParameters } from '../core/http/api-handler.ts';
import { jobView } from '../core/jobs/job-view.ts';

export function createListJobsHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { jobs }) => {
    const page = await jobs.list(queryParameters(event), caller);
    const waiting = await jobs.waitingOf(page.items);
    return json(200, { jobs: page.items.map((job, i) => jobView(job, waiting[i])), nextCursor: page.nextCursor });
  });
}

export const handler = createListJobsHandler(() => apiDependenciesFromEnvironment());
