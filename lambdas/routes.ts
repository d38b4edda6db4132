/**
 * The HTTP API's routes, declared once. The CDK stack makes one Lambda per route from `entry`
 * (its module exports `handler`), and the local platform matches requests against `routeKey`
 * and calls the same handler factories, so both serve exactly the same surface.
 */
export interface RouteDefinition {
  /** API Gateway route key: `METHOD /path/{param}`. */
  readonly routeKey: string;
  /** Short name: the Lambda's logical id and the handler factory's key. */
  readonly name: RouteName;
  /** Module (relative to the repository root) that exports `handler`. */
  readonly entry: string;
  /** Whether the route needs a caller identity (everything but the health check). */
  readonly authenticated: boolean;
}

export type RouteName =
  | 'healthz'
  | 'getOpenApi'
  | 'submitJob'
  | 'getJob'
  | 'listJobs'
  | 'listJobChildren'
  | 'cancelJob'
  | 'listJobEvents'
  | 'getJobLogs'
  | 'retryJob'
  | 'updateJob'
  | 'createUpload'
  | 'completeUpload'
  | 'listArtifacts'
  | 'getArtifact'
  | 'listWorkers'
  | 'listGroups'
  | 'getGroup'
  | 'updateGroup'
  | 'getUsage'
  | 'createApiKey'
  | 'listApiKeys'
  | 'revokeApiKey'
  | 'listAudit'
  | 'verifyAudit'
  | 'notFound';

export const ROUTES: readonly RouteDefinition[] = [
  { routeKey: 'GET /healthz', name: 'healthz', entry: 'lambdas/healthz.ts', authenticated: false },
  { routeKey: 'GET /v1/openapi.json', name: 'getOpenApi', entry: 'lambdas/get-openapi.ts', authenticated: false },
  { routeKey: 'POST /v1/jobs', name: 'submitJob', entry: 'lambdas/submit-job.ts', authenticated: true },
  { routeKey: 'GET /v1/jobs', name: 'listJobs', entry: 'lambdas/list-jobs.ts', authenticated: true },
  { routeKey: 'GET /v1/jobs/{id}', name: 'getJob', entry: 'lambdas/get-job.ts', authenticated: true },
  { routeKey: 'POST /v1/jobs/{id}/cancel', name: 'cancelJob', entry: 'lambdas/cancel-job.ts', authenticated: true },
  {
    routeKey: 'GET /v1/jobs/{id}/children',
    name: 'listJobChildren',
    entry: 'lambdas/list-job-children.ts',
    authenticated: true,
  },
  {
    routeKey: 'GET /v1/jobs/{id}/events',
    name: 'listJobEvents',
    entry: 'lambdas/list-job-events.ts',
    authenticated: true,
  },
  { routeKey: 'GET /v1/jobs/{id}/logs', name: 'getJobLogs', entry: 'lambdas/get-job-logs.ts', authenticated: true },
  { routeKey: 'POST /v1/jobs/{id}/retry', name: 'retryJob', entry: 'lambdas/retry-job.ts', authenticated: true },
  { routeKey: 'PATCH /v1/jobs/{id}', name: 'updateJob', entry: 'lambdas/update-job.ts', authenticated: true },
  { routeKey: 'POST /v1/uploads', name: 'createUpload', entry: 'lambdas/create-upload.ts', authenticated: true },
  {
    routeKey: 'POST /v1/uploads/complete',
    name: 'completeUpload',
    entry: 'lambdas/complete-upload.ts',
    authenticated: true,
  },
  {
    routeKey: 'GET /v1/jobs/{id}/artifacts',
    name: 'listArtifacts',
    entry: 'lambdas/list-artifacts.ts',
    authenticated: true,
  },
  {
    routeKey: 'GET /v1/jobs/{id}/artifacts/{path+}',
    name: 'getArtifact',
    entry: 'lambdas/get-artifact.ts',
    authenticated: true,
  },
  { routeKey: 'GET /v1/workers', name: 'listWorkers', entry: 'lambdas/list-workers.ts', authenticated: true },
  { routeKey: 'GET /v1/groups', name: 'listGroups', entry: 'lambdas/list-groups.ts', authenticated: true },
  { routeKey: 'GET /v1/groups/{group}', name: 'getGroup', entry: 'lambdas/get-group.ts', authenticated: true },
  { routeKey: 'PUT /v1/groups/{group}', name: 'updateGroup', entry: 'lambdas/update-group.ts', authenticated: true },
  { routeKey: 'GET /v1/usage', name: 'getUsage', entry: 'lambdas/get-usage.ts', authenticated: true },
  { routeKey: 'POST /v1/api-keys', name: 'createApiKey', entry: 'lambdas/create-api-key.ts', authenticated: true },
  { routeKey: 'GET /v1/api-keys', name: 'listApiKeys', entry: 'lambdas/list-api-keys.ts', authenticated: true },
  {
    routeKey: 'POST /v1/api-keys/{id}/revoke',
    name: 'revokeApiKey',
    entry: 'lambdas/revoke-api-key.ts',
    authenticated: true,
  },
  { routeKey: 'GET /v1/audit', name: 'listAudit', entry: 'lambdas/list-audit.ts', authenticated: true },
  { routeKey: 'GET /v1/audit/verify', name: 'verifyAudit', entry: 'lambdas/verify-audit.ts', authenticated: true },
  // Unmatched requests get the API's error shape instead of API Gateway's bare {"message":"Not Found"}.
  { routeKey: '$default', name: 'notFound', entry: 'lambdas/not-found.ts', authenticated: false },
];
