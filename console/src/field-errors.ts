/**
 * The API's 400 INVALID_ARGUMENT lists what was wrong in `details.fields` (`[{path, message}]`,
 * core/errors.ts); a form shows each message beside its field, keyed by the path's first segment.
 */
export function fieldErrorsOf(details: Readonly<Record<string, unknown>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const fields = Array.isArray(details?.fields) ? (details.fields as { path?: unknown; message?: unknown }[]) : [];
  for (const issue of fields) {
    if (typeof issue.path !== 'string' || typeof issue.message !== 'string') continue;
    const [top = '', ...rest] = issue.path.split('.');
    out[top] ??= rest.length > 0 ? `${rest.join('.')}: ${issue.message}` : issue.message;
  }
  return out;
}
