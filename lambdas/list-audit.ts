import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { createApiHandler, json, queryParameters } from '../core/http/api-handler.ts';

/** `GET /v1/audit?after=&limit=&shard=`: admins only; entries merged by time, cursor-paged. */
export function createListAuditHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { audit }) => {
    const page = await audit.list(queryParameters(event), caller);
    return json(200, page);
  });
}

export const handler = createListAuditHandler(apiDependenciesFromEnvironment);
