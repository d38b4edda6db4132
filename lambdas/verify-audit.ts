import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { createApiHandler, json } from '../core/http/api-handler.ts';

/**
 * `GET /v1/audit/verify`: admins only. Always 200 with `{ok, entries, shards, firstBroken?}`: a
 * broken chain is a finding about the data, not a failed request (`runplane audit verify` turns
 * `ok: false` into a non-zero exit).
 */
export function createVerifyAuditHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ caller }, { audit }) => {
    const result = await audit.verify(caller);
    return json(200, result);
  });
}

export const handler = createVerifyAuditHandler(apiDependenciesFromEnvironment);
