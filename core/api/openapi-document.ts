import { groupSettingsSchema } from '../groups/group.ts';
import * as z from 'zod';
import { completeUploadSchema, createUploadSchema } from '../uploads/upload-service.ts';
import { COMMON_ERRORS, REDIRECT, ROUTE_CONTRACTS, submitJobRequestSchema, TEXT_BODY, type RouteContract } from './route-contracts.ts';
import { createApiKeySchema } from '../auth/api-key-service.ts';
import { updateJobSchema } from '../jobs/job-service.ts';
import { errorBodySchema } from './response-schemas.ts';

/**
 * The OpenAPI 3.1 document of the API, generated from the zod schemas with zod's own
 * `z.toJSONSchema` (OpenAPI 3.1 schemas are JSON Schema 2020-12): response schemas become
 * components (requests as the client writes them, responses as the server writes them), each
 * route's contract an operation. Served at `GET /v1/openapi.json` and written to
 * `specs/openapi.json` by `npm run openapi`; a test fails when that file is stale.
 */

export interface DocumentedRoute {
  readonly routeKey: string;
  readonly authenticated: boolean;
}

type JsonSchema = Record<string, unknown>;

/** The contract's version: the `/v1` of the paths, with compatible additions counted in the minor. */
export const API_VERSION = '1.1.0';

const COMPONENT_REF = (id: string) => `#/components/schemas/${id}`;

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT: the offending fields in details.fields',
  401: 'UNAUTHENTICATED: missing or invalid credentials',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND (also for a job of another group)',
  409: 'a state conflict (NOT_CANCELLABLE, JOB_NOT_IN_STATE, IDEMPOTENCY_KEY_REUSED)',
  413: 'PAYLOAD_TOO_LARGE: body over 256 KB',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE: the body is not JSON',
  431: 'HEADERS_TOO_LARGE',
  500: 'INTERNAL: a bug; the cause is logged, never returned',
  503: 'DEPENDENCY_UNAVAILABLE: a backing service failed; retry',
};

/** The document states the dialect once; `$id`s zod derives from the component refs are fragments, which 2020-12 forbids. */
function withoutDialect(schema: JsonSchema): JsonSchema {
  const { $schema: _dialect, $id: _id, ...rest } = schema;
  return rest;
}

/** Every schema registered with an `id` (the response schemas), as components referring to each other. */
function responseComponents(): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(z.globalRegistry, { target: 'draft-2020-12', io: 'output', uri: COMPONENT_REF });
  return Object.fromEntries(Object.entries(schemas).map(([id, s]) => [id, withoutDialect(s as JsonSchema)]));
}

/** Request bodies as clients write them: defaulted fields are optional. */
const REQUEST_COMPONENTS: Readonly<Record<string, z.ZodType>> = {
  SubmitJobRequest: submitJobRequestSchema,
  CreateApiKeyRequest: createApiKeySchema,
  CreateUploadRequest: createUploadSchema,
  CompleteUploadRequest: completeUploadSchema,
  UpdateGroupRequest: groupSettingsSchema,
  UpdateJobRequest: updateJobSchema,
};

function requestComponentId(schema: z.ZodType): string {
  const id = Object.entries(REQUEST_COMPONENTS).find(([, s]) => s === schema)?.[0];
  if (!id) throw new Error('a request body schema is not among REQUEST_COMPONENTS');
  return id;
}

function schemaRef(schema: z.ZodType): JsonSchema {
  const id = z.globalRegistry.get(schema)?.id;
  if (typeof id !== 'string') throw new Error('a response schema has no component id (.meta({ id }))');
  return { $ref: COMPONENT_REF(id) };
}

function pathParameters(path: string): JsonSchema[] {
  return [...path.matchAll(/\{([A-Za-z0-9_]+)\+?\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string', pattern: '^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$', maxLength: 128 },
  }));
}

function queryParameters(query: z.ZodObject | undefined): JsonSchema[] {
  if (!query) return [];
  return Object.entries(query.shape).map(([name, schema]) => {
    const field = schema as z.ZodType;
    return {
      name,
      in: 'query',
      required: !field.safeParse(undefined).success,
      schema: withoutDialect(z.toJSONSchema(field, { target: 'draft-2020-12', io: 'output' }) as JsonSchema),
    };
  });
}

function operation(routeKey: string, contract: RouteContract, authenticated: boolean): JsonSchema {
  const path = routeKey.split(' ')[1] ?? '';
  const errorStatuses = [...new Set([...COMMON_ERRORS, ...contract.errors])].sort((a, b) => a - b);
  const responses: Record<string, JsonSchema> = {};
  for (const [status, { description, schema }] of Object.entries(contract.responses)) {
    responses[status] = {
      description,
      ...(schema === REDIRECT
        ? { headers: { Location: { schema: { type: 'string' }, description: 'where the answer is' } } }
        : {
            content:
              schema === TEXT_BODY
                ? { 'text/plain': { schema: { type: 'string' } }, 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } }
                : { 'application/json': { schema: schemaRef(schema) } },
          }),
    };
  }
  for (const status of errorStatuses) responses[String(status)] = { $ref: `#/components/responses/E${status}` };
  const headers = Object.entries(contract.headers ?? {}).map(([name, description]) => ({
    name,
    in: 'header',
    required: false,
    description,
    schema: { type: 'string', maxLength: 200 },
  }));
  return {
    operationId: contract.operationId,
    summary: contract.summary,
    tags: [contract.tag],
    security: authenticated ? [{ apiKey: [] }, { jwt: [] }] : [],
    parameters: [...pathParameters(path), ...queryParameters(contract.query), ...headers],
    ...(contract.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: COMPONENT_REF(requestComponentId(contract.body)) } } },
          },
        }
      : {}),
    responses,
  };
}

/**
 * The document for `routes` (lambdas/routes.ts). Throws for a route without a contract, so a new
 * route cannot ship undocumented; `$default` (the not-found catch-all) is no operation.
 */
export function buildOpenApiDocument(routes: readonly DocumentedRoute[]): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    if (route.routeKey === '$default') continue;
    const contract = ROUTE_CONTRACTS[route.routeKey];
    if (!contract) throw new Error(`route ${route.routeKey} has no contract in core/api/route-contracts.ts`);
    const [method = '', path = ''] = route.routeKey.split(' ');
    (paths[path] ??= {})[method.toLowerCase()] = operation(route.routeKey, contract, route.authenticated);
  }
  const errorResponses = Object.fromEntries(
    Object.entries(STATUS_TEXT).map(([status, description]) => [
      `E${status}`,
      { description, content: { 'application/json': { schema: schemaRef(errorBodySchema) } } },
    ]),
  );
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Runplane API',
      version: API_VERSION,
      description: 'Submit, follow and manage jobs. Every error is {"error":{"code","message","details"}}; a client mistake is a 4xx.',
    },
    tags: [{ name: 'jobs' }, { name: 'workers' }, { name: 'groups' }, { name: 'usage' }, { name: 'api-keys' }, { name: 'audit' }, { name: 'meta' }],
    paths,
    components: {
      schemas: {
        ...responseComponents(),
        ...Object.fromEntries(
          Object.entries(REQUEST_COMPONENTS).map(([id, s]) => [id, withoutDialect(z.toJSONSchema(s, { target: 'draft-2020-12', io: 'input' }) as JsonSchema)]),
        ),
      },
      responses: errorResponses,
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', bearerFormat: 'rp_<id>_<secret>', description: 'an API key created by an admin' },
        jwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: "ES256 tokens signed by the deployment's key, or tokens of the configured OIDC issuer" },
      },
    },
  };
}

/** The document as `specs/openapi.json` holds it: two-space JSON with a final newline. */
export function openApiDocumentText(routes: readonly DocumentedRoute[]): string {
  return `${JSON.stringify(buildOpenApiDocument(routes), null, 2)}\n`;
}
