import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { createApiHandler, json } from '../core/http/api-handler.ts';
import { parseJsonBody } from '../core/http/json-body.ts';
import { jobView } from '../core/jobs/job.ts';

export function createSubmitJobHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { jobs }) => {
    const body = parseJsonBody(event.headers ?? {}, event.body, event.isBase64Encoded);
    const job = await jobs.submit(body, caller);
    return json(201, jobView(job), { location: `/v1/jobs/${job.id}` });
  });
}

export const handler = createSubmitJobHandler(apiDependenciesFromEnvironment);
