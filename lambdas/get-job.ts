import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { createApiHandler, json, pathParameter } from '../core/http/api-handler.ts';
import { jobView } from '../core/jobs/job-view.ts';

export function createGetJobHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { jobs }) => {
    const { job, waiting } = await jobs.describe(pathParameter(event, 'id'), caller);
    // `waitingReason` is `waiting.message`, kept for clients written before `waiting`.
    return json(200, { ...jobView(job, waiting), waitingReason: waiting?.message ?? null });
  });
}

export const handler = createGetJobHandler(() => apiDependenciesFromEnvironment());
