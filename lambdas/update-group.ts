import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { createApiHandler, groupPathParameter, json } from '../core/http/api-handler.ts';
import { parseJsonBody } from '../core/http/json-body.ts';

export function createUpdateGroupHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { groups }) => {
    const body = parseJsonBody(event.headers ?? {}, event.body, event.isBase64Encoded);
    return json(200, { group: await groups.update(groupPathParameter(event), body, caller) });
  });
}

export const handler = createUpdateGroupHandler(() => apiDependenciesFromEnvironment());
