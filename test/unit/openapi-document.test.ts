import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument, openApiDocumentText } from '../../core/api/openapi-document.ts';
import { ROUTE_CONTRACTS } from '../../core/api/route-contracts.ts';
import { jobViewSchema } from '../../core/api/response-schemas.ts';
import { ROUTES } from '../../lambdas/routes.ts';
import { contractViolation } from '../support/response-contract.ts';
import { json, text } from '../../core/http/api-handler.ts';

interface Operation {
  security: unknown[];
  parameters: { name: string; in: string }[];
  requestBody?: { content: Record<string, { schema: { $ref: string } }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: { $ref?: string } }> }>;
}
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> } };

describe('OpenAPI document', () => {
  const doc = buildOpenApiDocument(ROUTES) as unknown as Doc;

  it('specs/openapi.json is the document the code generates (run `npm run openapi` after changing a schema or route)', () => {
    expect(readFileSync(new URL('../../specs/openapi.json', import.meta.url), 'utf8')).toBe(openApiDocumentText(ROUTES));
  });

  it('describes every route, and only routes that exist', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    const routes = ROUTES.map((r) => r.routeKey).filter((k) => k !== '$default');
    expect(documented.sort()).toEqual([...routes].sort());
    expect(Object.keys(ROUTE_CONTRACTS).sort()).toEqual([...routes].sort());
    expect(() => buildOpenApiDocument([...ROUTES, { routeKey: 'GET /v1/new', authenticated: true }])).toThrow(/no contract/);
  });

  it('names the auth schemes, and requires them exactly on authenticated routes', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiKey', 'jwt']);
    for (const route of ROUTES.filter((r) => r.routeKey !== '$default')) {
      const [method, path] = route.routeKey.split(' ') as [string, string];
      const op = doc.paths[path]![method.toLowerCase()]!;
      expect(op.security, route.routeKey).toEqual(route.authenticated ? [{ apiKey: [] }, { jwt: [] }] : []);
      // Every operation answers errors with the one error shape.
      expect(op.responses['400']?.$ref, route.routeKey).toBe('#/components/responses/E400');
      expect(op.responses['503']?.$ref, route.routeKey).toBe('#/components/responses/E503');
      if (route.authenticated) expect(op.responses['401']?.$ref, route.routeKey).toBe('#/components/responses/E401');
      for (const [status, response] of Object.entries(op.responses)) {
        const ref = response.content?.['application/json']?.schema.$ref ?? response.$ref;
        if (Number(status) < 400 && ref) expect(doc.components.schemas[ref.split('/').pop()!], `${route.routeKey} ${status}`).toBeDefined();
      }
    }
  });

  it('documents requests as clients write them: defaulted fields optional, path and query parameters listed', () => {
    const submit = doc.paths['/v1/jobs']!.post!;
    expect(submit.requestBody?.content['application/json']?.schema.$ref).toBe('#/components/schemas/SubmitJobRequest');
    const request = doc.components.schemas.SubmitJobRequest as { required?: string[]; properties: Record<string, unknown> };
    expect(request.required).toEqual(['command']);
    expect(Object.keys(request.properties)).toContain('group');
    expect(doc.paths['/v1/jobs/{id}']!.get!.parameters).toContainEqual(expect.objectContaining({ name: 'id', in: 'path' }));
    expect(doc.paths['/v1/jobs']!.get!.parameters.map((p) => p.name)).toEqual(['group', 'state', 'queue', 'limit', 'cursor']);
    // Responses as the server writes them: every field of a job is present.
    const job = doc.components.schemas.Job as { required: string[]; additionalProperties: boolean };
    expect(job.required).toEqual(Object.keys(jobViewSchema.shape));
    expect(job.additionalProperties).toBe(false);
  });
});

describe('response contract check (used by the integration tests)', () => {
  it('accepts declared answers and names what breaks the contract', () => {
    expect(contractViolation('GET /healthz', json(200, { status: 'ok' }))).toBeUndefined();
    expect(contractViolation('GET /v1/jobs/{id}/logs', text(200, 'hi'))).toBeUndefined();
    expect(contractViolation('GET /healthz', json(201, { status: 'ok' }))).toMatch(/not declared/);
    expect(contractViolation('GET /healthz', json(200, { status: 'ok', extra: 1 }))).toMatch(/extra/);
    expect(contractViolation('GET /v1/jobs', json(400, { error: { code: 'INVALID_ARGUMENT', message: 'x' } }))).toMatch(/details/);
    expect(contractViolation('GET /v1/jobs', json(200, { jobs: [{ id: 'x' }], nextCursor: null }))).toMatch(/jobs\.0/);
  });
});
