import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { logArchiveDependencies } from '../core/app/log-archive-dependencies.ts';
import { bytes, createApiHandler, pathParameter, queryParameters } from '../core/http/api-handler.ts';

export function createGetJobLogsHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { jobs }) => {
    const query = queryParameters(event);
    if (query.download !== undefined) {
      const location = await jobs.logsDownloadUrl(pathParameter(event, 'id'), query, caller);
      return { statusCode: 302, headers: { location, 'cache-control': 'no-store' }, body: '' };
    }
    const logs = await jobs.logs(pathParameter(event, 'id'), query, caller);
    // A truncated body says so in headers; the rest is reachable through /events?after=<next>.
    return bytes(200, logs.bytes, {
      'x-runplane-attempt': String(logs.attempt),
      ...(logs.truncated ? { 'x-runplane-truncated': 'true', 'x-runplane-next-after': String(logs.next) } : {}),
    });
  });
}

export const handler = createGetJobLogsHandler(() => apiDependenciesFromEnvironment(logArchiveDependencies));
