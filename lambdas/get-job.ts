import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { createApiHandler, json, pathParameter } from '../core/http/api-handler.ts';
import { jobView } from '../core/jobs/job.ts';

export function createGetJobHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { jobs }) => {
    const { job, waitingReason } = await jobs.describe(pathParameter(event, 'id'), caller);
    return json(200, { ...jobView(job), waitingReason });
  });
}

export const handler = createGetJobHandler(() => apiDependenciesFromEnvironment());
