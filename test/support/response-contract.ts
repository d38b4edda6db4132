import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { REDIRECT, responseSchemaFor, TEXT_BODY } from '../../core/api/route-contracts.ts';
import type { ApiHandler, ApiResult } from '../../core/http/api-handler.ts';

/**
 * Wraps the real handlers so that every response a test sees is checked against the API contract
 * (core/api/route-contracts.ts, from which specs/openapi.json is generated): the status is one the
 * route declares, and the body matches its schema. A violation is recorded and thrown, so the
 * request fails (500) and the test with it; `violations` names them all.
 */
export interface ContractCheck<K extends string> {
  readonly handlers: Record<K, ApiHandler>;
  readonly violations: string[];
  /** Responses checked so far, per route key: proof the check ran. */
  readonly checked: Map<string, number>;
}

export function checkResponsesAgainstContract<K extends string>(handlers: Record<K, ApiHandler>): ContractCheck<K> {
  const violations: string[] = [];
  const checked = new Map<string, number>();
  const wrapped = Object.fromEntries(
    Object.entries(handlers).map(([name, handler]) => [
      name,
      async (event: APIGatewayProxyEventV2, context: Context): Promise<ApiResult> => {
        const result = await (handler as ApiHandler)(event, context);
        const problem = contractViolation(event.routeKey, result);
        checked.set(event.routeKey, (checked.get(event.routeKey) ?? 0) + 1);
        if (problem) {
          const message = `${event.routeKey} → ${result.statusCode}: ${problem}`;
          violations.push(message);
          throw new Error(`response breaks the API contract: ${message}`);
        }
        return result;
      },
    ]),
  ) as Record<K, ApiHandler>;
  return { handlers: wrapped, violations, checked };
}

/** Why `result` does not match the contract of `routeKey`, or undefined when it does. */
export function contractViolation(routeKey: string, result: ApiResult): string | undefined {
  const status = result.statusCode ?? 200;
  const schema = responseSchemaFor(routeKey, status);
  if (!schema) return `status ${status} is not declared for this route`;
  const contentType = String(result.headers?.['content-type'] ?? '');
  if (schema === TEXT_BODY) {
    return contentType.startsWith('text/plain') || contentType.startsWith('application/octet-stream')
      ? undefined
      : `content-type ${contentType}, expected text/plain or application/octet-stream`;
  }
  if (schema === REDIRECT) return result.headers?.location ? undefined : 'a redirect without Location';
  if (!contentType.startsWith('application/json')) return `content-type ${contentType}, expected application/json`;
  let body: unknown;
  try {
    body = JSON.parse(result.body ?? '');
  } catch {
    return 'body is not JSON';
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return undefined;
  return parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}
