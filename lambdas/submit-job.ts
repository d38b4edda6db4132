import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { dispatchDependencies } from '../core/app/dispatch-dependencies.ts';
import { createJobFilesParts } from '../core/app/job-files-dependencies.ts';
import { createApiHandler, json } from '../core/http/api-handler.ts';
import { parseJsonBody } from '../core/http/json-body.ts';
import { jobView } from '../core/jobs/job-view.ts';
import { observability, recordJobSubmitted } from '../core/observability/observability.ts';

export function createSubmitJobHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { jobs }) => {
    const body = parseJsonBody(event.headers ?? {}, event.body, event.isBase64Encoded);
    const idempotencyKey = event.headers?.['idempotency-key'];
    const { job, created } = await jobs.submit(body, caller, idempotencyKey === undefined ? {} : { idempotencyKey });
    if (created) recordJobSubmitted(observability(), job, event.requestContext?.requestId);
    // A replayed key answers 200 with the job it created the first time.
    return json(created ? 201 : 200, jobView(job), { location: `/v1/jobs/${job.id}` });
  });
}

// The only routes that send messages: they alone bundle the SQS (and ECS scaler) clients.
// It also checks that a named work directory archive exists: S3 too.
export const handler = createSubmitJobHandler(() =>
  apiDependenciesFromEnvironment((config) => ({ ...dispatchDependencies(config), jobFiles: createJobFilesParts })),
);
