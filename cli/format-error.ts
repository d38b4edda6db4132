/**
 * What the CLI prints to stderr for an API error or an unreachable API, in human mode. Apart
 * from format.ts so that reporting an error loads no job schema.
 */
import { ApiError, type ConnectionError } from './api-client.ts';

interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

function fieldIssues(details: Readonly<Record<string, unknown>>): FieldIssue[] {
  const fields = details.fields;
  if (!Array.isArray(fields)) return [];
  return fields.flatMap((f: unknown) => {
    const issue = f as { path?: unknown; message?: unknown };
    return typeof issue.message === 'string'
      ? [{ path: typeof issue.path === 'string' ? issue.path : '', message: issue.message }]
      : [];
  });
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** What the CLI prints to stderr for an error, in human mode. Unknown errors are rethrown by the caller. */
export function formatError(error: ApiError | ConnectionError): string {
  if (error instanceof ApiError) {
    let out = `error: ${error.code}: ${error.message}\n`;
    for (const issue of fieldIssues(error.details)) out += `  ${issue.path || '(body)'}: ${issue.message}\n`;
    return out;
  }
  let out = `error: ${error.message}\n`;
  const host = URL.canParse(error.baseUrl) ? new URL(error.baseUrl).hostname : '';
  if (LOOPBACK_HOSTS.has(host)) {
    out += 'hint: is the platform running? start it with `npm start` (or `runplane dev`)\n';
  } else {
    out += 'hint: check RUNPLANE_URL (or --url) and your network connection\n';
  }
  return out;
}
