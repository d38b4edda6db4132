import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { createJobFilesParts } from '../core/app/job-files-dependencies.ts';
import { createApiHandler, json } from '../core/http/api-handler.ts';
import { filesUnavailable } from '../core/http/files-unavailable.ts';
import { parseJsonBody } from '../core/http/json-body.ts';

export function createCreateUploadHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { uploads }) => {
    if (!uploads) throw filesUnavailable();
    const body = parseJsonBody(event.headers ?? {}, event.body, event.isBase64Encoded);
    return json(200, await uploads.createUpload(body, caller));
  });
}

export const handler = createCreateUploadHandler(() => apiDependenciesFromEnvironment(() => ({ jobFiles: createJobFilesParts })));
