import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { dispatchDependencies } from '../core/app/dispatch-dependencies.ts';
import { createApiHandler, json, pathParameter } from '../core/http/api-handler.ts';
import { jobView } from '../core/jobs/job-view.ts';

export function createRetryJobHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { jobs }) => {
    const idempotencyKey = event.headers?.['idempotency-key'];
    const job = await jobs.retry(pathParameter(event, 'id'), caller, idempotencyKey === undefined ? {} : { idempotencyKey });
    return json(200, jobView(job));
  });
}

// The only routes that send messages: they alone bundle the SQS (and ECS scaler) clients.
export const handler = createRetryJobHandler(() => apiDependenciesFromEnvironment(dispatchDependencies));
