import type * as z from 'zod';
import { ValidationError, type FieldIssue } from './errors.ts';

/**
 * Parses client input with a zod schema, or throws a ValidationError naming every offending field
 * (a 400 INVALID_ARGUMENT). Shared by every service that takes a request body or query.
 */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues: FieldIssue[] = result.error.issues.map((i) => ({
    path: i.path.map(String).join('.') || '(root)',
    message: i.message,
  }));
  throw new ValidationError(`invalid ${what}`, issues);
}
