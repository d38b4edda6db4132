import type { ApiDependencies } from '../core/app/api-dependencies.ts';
import type { ApiHandler } from '../core/http/api-handler.ts';
import { createCancelJobHandler } from './cancel-job.ts';
import { createUpdateJobHandler } from './update-job.ts';
import { createGetJobLogsHandler } from './get-job-logs.ts';
import { createGetJobHandler } from './get-job.ts';
import { createHealthzHandler } from './healthz.ts';
import { createGetOpenApiHandler } from './get-openapi.ts';
import { createListJobEventsHandler } from './list-job-events.ts';
import { createListJobsHandler } from './list-jobs.ts';
import { createListJobChildrenHandler } from './list-job-children.ts';
import { createNotFoundHandler } from './not-found.ts';
import type { RouteName } from './routes.ts';
import { createSubmitJobHandler } from './submit-job.ts';
import { createRetryJobHandler } from './retry-job.ts';
import { createListWorkersHandler } from './list-workers.ts';
import { createGetGroupHandler } from './get-group.ts';
import { createListGroupsHandler } from './list-groups.ts';
import { createUpdateGroupHandler } from './update-group.ts';
import { createGetUsageHandler } from './get-usage.ts';
import { createCreateApiKeyHandler } from './create-api-key.ts';
import { createListApiKeysHandler } from './list-api-keys.ts';
import { createRevokeApiKeyHandler } from './revoke-api-key.ts';
import { createListAuditHandler } from './list-audit.ts';
import { createVerifyAuditHandler } from './verify-audit.ts';
import { createCreateUploadHandler } from './create-upload.ts';
import { createCompleteUploadHandler } from './complete-upload.ts';
import { createListArtifactsHandler } from './list-artifacts.ts';
import { createGetArtifactHandler } from './get-artifact.ts';

/**
 * Every route's handler built over one set of dependencies: how the local platform serves the
 * exact handlers Lambda runs, minus the environment lookup.
 */
export function createHandlers(dependencies: () => Promise<ApiDependencies>): Record<RouteName, ApiHandler> {
  return {
    healthz: createHealthzHandler(),
    getOpenApi: createGetOpenApiHandler(),
    submitJob: createSubmitJobHandler(dependencies),
    getJob: createGetJobHandler(dependencies),
    listJobs: createListJobsHandler(dependencies),
    listJobChildren: createListJobChildrenHandler(dependencies),
    cancelJob: createCancelJobHandler(dependencies),
    listJobEvents: createListJobEventsHandler(dependencies),
    getJobLogs: createGetJobLogsHandler(dependencies),
    retryJob: createRetryJobHandler(dependencies),
    updateJob: createUpdateJobHandler(dependencies),
    createUpload: createCreateUploadHandler(dependencies),
    completeUpload: createCompleteUploadHandler(dependencies),
    listArtifacts: createListArtifactsHandler(dependencies),
    getArtifact: createGetArtifactHandler(dependencies),
    listWorkers: createListWorkersHandler(dependencies),
    listGroups: createListGroupsHandler(dependencies),
    getGroup: createGetGroupHandler(dependencies),
    updateGroup: createUpdateGroupHandler(dependencies),
    getUsage: createGetUsageHandler(dependencies),
    createApiKey: createCreateApiKeyHandler(dependencies),
    listApiKeys: createListApiKeysHandler(dependencies),
    revokeApiKey: createRevokeApiKeyHandler(dependencies),
    listAudit: createListAuditHandler(dependencies),
    verifyAudit: createVerifyAuditHandler(dependencies),
    notFound: createNotFoundHandler(),
  };
}
