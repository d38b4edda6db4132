import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { dispatchDependencies } from '../core/app/dispatch-dependencies.ts';
import { createApiHandler, json, pathParameter } from '../core/http/api-handler.ts';
import { parseJsonBody } from '../core/http/json-body.ts';
import { jobView } from '../core/jobs/job-view.ts';

export function createUpdateJobHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { jobs }) => {
    const body = parseJsonBody(event.headers ?? {}, event.body, event.isBase64Encoded);
    const job = await jobs.update(pathParameter(event, 'id'), body, caller);
    // Read as GET reads it (workers, the scheduler's board): a new priority does not change why it waits.
    const [waiting] = await jobs.waitingOf([job]);
    return json(200, jobView(job, waiting));
  });
}

// A raised priority may let the job start now: the route dispatches like submit and retry.
export const handler = createUpdateJobHandler(() => apiDependenciesFromEnvironment(dispatchDependencies));
