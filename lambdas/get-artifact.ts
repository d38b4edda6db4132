import { apiDependenciesFromEnvironment, type ApiDependencies } from '../core/app/api-dependencies.ts';
import { createJobFilesParts } from '../core/app/job-files-dependencies.ts';
import { createApiHandler, filePathParameter, json, pathParameter, queryParameters } from '../core/http/api-handler.ts';
import { filesUnavailable } from '../core/http/files-unavailable.ts';

export function createGetArtifactHandler(dependencies: () => Promise<ApiDependencies>) {
  return createApiHandler({ dependencies, authenticate: (d) => d.authenticate }, async ({ event, caller }, { artifacts }) => {
    if (!artifacts) throw filesUnavailable();
    const { url, artifact } = await artifacts.downloadUrl(
      pathParameter(event, 'id'),
      filePathParameter(event, 'path'),
      queryParameters(event),
      caller,
    );
    // The body repeats the record, so a client that does not follow redirects still learns the
    // checksum to verify against.
    return json(302, { ...artifact, url, expiresInSeconds: artifacts.urlExpirySeconds }, {
      location: url,
      'x-runplane-sha256': artifact.sha256,
    });
  });
}

export const handler = createGetArtifactHandler(() => apiDependenciesFromEnvironment(() => ({ jobFiles: createJobFilesParts })));
