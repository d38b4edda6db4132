import * as z from 'zod';
import { listAuditQuerySchema } from '../audit/audit-service.ts';
import { createApiKeySchema, listApiKeysQuerySchema } from '../auth/api-key-service.ts';
import { groupNameSchema } from '../auth/groups.ts';
import { jobSpecSchema } from '../jobs/job.ts';
import { listChildrenQuerySchema, listEventsQuerySchema, listJobsQuerySchema, logsQuerySchema, updateJobSchema } from '../jobs/job-service.ts';
import { groupSettingsSchema } from '../groups/group.ts';
import {
  apiKeyPageSchema,
  apiKeySummarySchema,
  auditPageSchema,
  auditVerificationSchema,
  createdApiKeySchema,
  errorBodySchema,
  eventPageSchema,
  healthSchema,
  jobDetailSchema,
  jobPageSchema,
  jobViewSchema,
  openApiDocumentSchema,
  workerListSchema,
  groupListSchema,
  groupResponseSchema,
  usageReportSchema,
  artifactDownloadSchema,
  artifactPageSchema,
  completedUploadSchema,
  createUploadResponseSchema,
} from './response-schemas.ts';
import { getArtifactQuerySchema, listArtifactsQuerySchema } from '../artifacts/artifact-service.ts';
import { completeUploadSchema, createUploadSchema } from '../uploads/upload-service.ts';
import { usageQuerySchema } from '../usage/usage-service.ts';

/**
 * Each route's contract, keyed by its API Gateway route key (lambdas/routes.ts declares the routes
 * themselves; a test keeps the two in step): what it reads and what it answers per status. The
 * OpenAPI document is generated from this table, and the integration tests check every response
 * against it.
 */

/** The job's bytes: text/plain when they are UTF-8, application/octet-stream otherwise (the logs route). */
export const TEXT_BODY = 'text/plain';
/** A 302 whose Location is the answer (a presigned URL); the body says nothing more. */
export const REDIRECT = 'redirect';

export interface RouteContract {
  readonly operationId: string;
  readonly summary: string;
  readonly tag: 'jobs' | 'workers' | 'groups' | 'usage' | 'api-keys' | 'audit' | 'meta';
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  /** Request headers the route reads, beyond authorization and content-type. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Successful answers; anything else is an error with errorBodySchema. */
  readonly responses: Readonly<Record<number, { readonly description: string; readonly schema: z.ZodType | typeof TEXT_BODY | typeof REDIRECT }>>;
  /** Error statuses the route can answer, beyond those every route can (see COMMON_ERRORS). */
  readonly errors: readonly number[];
}

/** The body of `POST /v1/jobs`: a job spec plus the group it goes to (the caller's first by default). */
export const submitJobRequestSchema = jobSpecSchema.extend({ group: groupNameSchema.optional() });

const IDEMPOTENCY_HEADER = {
  'idempotency-key': 'the same key and body answer 200 with the original result; a different body 409 IDEMPOTENCY_KEY_REUSED',
};

/** What any route can answer: malformed requests, and a backing service that is down. */
export const COMMON_ERRORS = [400, 414, 431, 500, 503] as const;
const AUTHENTICATED_ERRORS = [401, 403] as const;
const BODY_ERRORS = [413, 415] as const;

export const ROUTE_CONTRACTS: Readonly<Record<string, RouteContract>> = {
  'GET /healthz': {
    operationId: 'healthz',
    summary: 'Health check',
    tag: 'meta',
    responses: { 200: { description: 'the API answers', schema: healthSchema } },
    errors: [],
  },
  'GET /v1/openapi.json': {
    operationId: 'getOpenApi',
    summary: 'This document',
    tag: 'meta',
    responses: { 200: { description: 'the OpenAPI 3.1 document of this API', schema: openApiDocumentSchema } },
    errors: [],
  },
  'POST /v1/jobs': {
    operationId: 'submitJob',
    summary: 'Submit a job',
    tag: 'jobs',
    body: submitJobRequestSchema,
    headers: IDEMPOTENCY_HEADER,
    responses: {
      201: { description: 'the job, stored QUEUED', schema: jobViewSchema },
      200: { description: 'the job an earlier request with this Idempotency-Key created', schema: jobViewSchema },
    },
    errors: [...AUTHENTICATED_ERRORS, ...BODY_ERRORS, 409],
  },
  'GET /v1/jobs': {
    operationId: 'listJobs',
    summary: 'List jobs of a group, newest first',
    tag: 'jobs',
    query: listJobsQuerySchema,
    responses: { 200: { description: 'a page of jobs', schema: jobPageSchema } },
    errors: [...AUTHENTICATED_ERRORS],
  },
  'GET /v1/jobs/{id}': {
    operationId: 'getJob',
    summary: 'A job with its history, attempts and why it waits',
    tag: 'jobs',
    responses: { 200: { description: 'the job', schema: jobDetailSchema } },
    errors: [...AUTHENTICATED_ERRORS, 404],
  },
  'GET /v1/jobs/{id}/children': {
    operationId: 'listJobChildren',
    summary: "An array's materialised children in index order (all are counted in the parent's arrayStatus)",
    tag: 'jobs',
    query: listChildrenQuerySchema,
    responses: { 200: { description: 'a page of children; with state, a page may hold fewer than limit', schema: jobPageSchema } },
    errors: [...AUTHENTICATED_ERRORS, 404],
  },
  'POST /v1/jobs/{id}/cancel': {
    operationId: 'cancelJob',
    summary: 'Cancel a job',
    tag: 'jobs',
    responses: { 200: { description: 'the job, CANCELLED or flagged for its worker to stop', schema: jobViewSchema } },
    errors: [...AUTHENTICATED_ERRORS, 404, 409],
  },
  'PATCH /v1/jobs/{id}': {
    operationId: 'updateJob',
    summary: "Change a queued job's priority (audited)",
    tag: 'jobs',
    body: updateJobSchema,
    responses: { 200: { description: 'the job, with its new priority and place in line', schema: jobViewSchema } },
    errors: [...AUTHENTICATED_ERRORS, 400, 404, 409],
  },
  'GET /v1/jobs/{id}/events': {
    operationId: 'listJobEvents',
    summary: "An attempt's output and lifecycle events, cursor-paged",
    tag: 'jobs',
    query: listEventsQuerySchema,
    responses: { 200: { description: 'a page of events', schema: eventPageSchema } },
    errors: [...AUTHENTICATED_ERRORS, 404],
  },
  'GET /v1/jobs/{id}/logs': {
    operationId: 'getJobLogs',
    summary: "An attempt's combined output as text",
    tag: 'jobs',
    query: logsQuerySchema,
    responses: {
      200: { description: 'the output, byte for byte; x-runplane-truncated says when it stops early', schema: TEXT_BODY },
      302: { description: 'download=1: Location is a presigned GET (15 minutes) of the gzip log archive', schema: REDIRECT },
    },
    errors: [...AUTHENTICATED_ERRORS, 404, 409],
  },
  'POST /v1/jobs/{id}/retry': {
    operationId: 'retryJob',
    summary: 'Run a finished job again as a new attempt',
    tag: 'jobs',
    headers: IDEMPOTENCY_HEADER,
    responses: { 200: { description: 'the job, QUEUED again', schema: jobViewSchema } },
    errors: [...AUTHENTICATED_ERRORS, 404, 409],
  },
  'GET /v1/workers': {
    operationId: 'listWorkers',
    summary: 'Workers that reported in the last minute',
    tag: 'workers',
    responses: { 200: { description: 'the workers', schema: workerListSchema } },
    errors: [...AUTHENTICATED_ERRORS],
  },
  'GET /v1/groups': {
    operationId: 'listGroups',
    summary: 'Groups with their quotas, weights and current use (admins: every group; others: their own)',
    tag: 'groups',
    responses: { 200: { description: 'the groups', schema: groupListSchema } },
    errors: [...AUTHENTICATED_ERRORS],
  },
  'GET /v1/groups/{group}': {
    operationId: 'getGroup',
    summary: "A group's quotas, weight and current use (the defaults for a group never configured)",
    tag: 'groups',
    responses: { 200: { description: 'the group', schema: groupResponseSchema } },
    errors: [...AUTHENTICATED_ERRORS, 404],
  },
  'PUT /v1/groups/{group}': {
    operationId: 'updateGroup',
    summary: "Set a group's quotas and fair-share weight (admins; audited). Omitted fields keep their value; null removes a quota",
    tag: 'groups',
    body: groupSettingsSchema,
    responses: { 200: { description: 'the group as it is now', schema: groupResponseSchema } },
    errors: [...AUTHENTICATED_ERRORS, ...BODY_ERRORS, 409],
  },
  'GET /v1/usage': {
    operationId: 'getUsage',
    summary: 'Usage and cost of attempts that ended in a window, by group, user, queue or day',
    tag: 'usage',
    query: usageQuerySchema,
    responses: { 200: { description: 'one row per key; idle capacity for admins', schema: usageReportSchema } },
    // 403: naming a group the caller is not in, as listing its jobs does.
    errors: [...AUTHENTICATED_ERRORS],
  },
  'POST /v1/api-keys': {
    operationId: 'createApiKey',
    summary: 'Create an API key (admins)',
    tag: 'api-keys',
    body: createApiKeySchema,
    responses: { 201: { description: 'the key, shown this once', schema: createdApiKeySchema } },
    errors: [...AUTHENTICATED_ERRORS, ...BODY_ERRORS],
  },
  'GET /v1/api-keys': {
    operationId: 'listApiKeys',
    summary: 'List API keys (admins)',
    tag: 'api-keys',
    query: listApiKeysQuerySchema,
    responses: { 200: { description: 'a page of keys, never the keys themselves', schema: apiKeyPageSchema } },
    errors: [...AUTHENTICATED_ERRORS],
  },
  'POST /v1/api-keys/{id}/revoke': {
    operationId: 'revokeApiKey',
    summary: 'Revoke an API key (admins)',
    tag: 'api-keys',
    responses: { 200: { description: 'the revoked key', schema: apiKeySummarySchema } },
    errors: [...AUTHENTICATED_ERRORS, 404],
  },
  'GET /v1/audit': {
    operationId: 'listAudit',
    summary: 'Audit chain entries merged by time (admins)',
    tag: 'audit',
    query: listAuditQuerySchema,
    responses: { 200: { description: 'a page of entries', schema: auditPageSchema } },
    errors: [...AUTHENTICATED_ERRORS],
  },
  'POST /v1/uploads': {
    operationId: 'createUpload',
    summary: 'Declare a work directory archive (content-addressed); answers where to upload it, if at all',
    tag: 'jobs',
    body: createUploadSchema,
    responses: { 200: { description: 'the archive id, and upload instructions unless the group already has it', schema: createUploadResponseSchema } },
    errors: [...AUTHENTICATED_ERRORS, ...BODY_ERRORS],
  },
  'POST /v1/uploads/complete': {
    operationId: 'completeUpload',
    summary: 'Finish a multipart archive upload',
    tag: 'jobs',
    body: completeUploadSchema,
    responses: { 200: { description: 'the archive is stored', schema: completedUploadSchema } },
    errors: [...AUTHENTICATED_ERRORS, ...BODY_ERRORS],
  },
  'GET /v1/jobs/{id}/artifacts': {
    operationId: 'listArtifacts',
    summary: "An attempt's artifacts (the latest attempt by default)",
    tag: 'jobs',
    query: listArtifactsQuerySchema,
    responses: { 200: { description: 'a page of artifacts', schema: artifactPageSchema } },
    errors: [...AUTHENTICATED_ERRORS, 404],
  },
  'GET /v1/jobs/{id}/artifacts/{path+}': {
    operationId: 'getArtifact',
    summary: "Download one artifact: a redirect to a presigned GET valid at most 15 minutes",
    tag: 'jobs',
    query: getArtifactQuerySchema,
    responses: { 302: { description: 'Location is the presigned URL; the body repeats the record and its SHA-256', schema: artifactDownloadSchema } },
    errors: [...AUTHENTICATED_ERRORS, 404],
  },
  'GET /v1/audit/verify': {
    operationId: 'verifyAudit',
    summary: 'Recompute every link of the audit chain (admins)',
    tag: 'audit',
    responses: { 200: { description: 'the verification; ok false names the first broken entry', schema: auditVerificationSchema } },
    errors: [...AUTHENTICATED_ERRORS],
  },
};

/** The schema a response with `status` on `routeKey` must match, or undefined for none known. */
export function responseSchemaFor(routeKey: string, status: number): z.ZodType | typeof TEXT_BODY | typeof REDIRECT | undefined {
  if (status >= 400) return errorBodySchema;
  return ROUTE_CONTRACTS[routeKey]?.responses[status]?.schema;
}
