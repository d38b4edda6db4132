import * as z from 'zod';
import { ValidationError } from '../errors.ts';
import type { Caller } from './caller.ts';
import { PermissionDeniedError } from './errors.ts';
import { can, isMember, type Action } from './policy.ts';

/**
 * Group names are embedded in the jobs table's GSI keys (`<group>#<state>`), so `#`, whitespace and
 * control characters are out. Slashes, dots, `@` and `:` are in: identity providers send groups
 * such as `/ml/vision` (Keycloak) or `team@example.com`.
 */
export const GROUP_NAME_PATTERN = /^[A-Za-z0-9_/][A-Za-z0-9._/@:-]{0,127}$/;
export const groupNameSchema = z.string().regex(GROUP_NAME_PATTERN, 'must be a group name like "ml-team"');

export function isGroupName(value: unknown): value is string {
  return typeof value === 'string' && GROUP_NAME_PATTERN.test(value);
}

/**
 * Splits the optional `group` field off a request body so the rest can be validated as the job
 * spec. A body that is not an object is returned as it is for the spec's validation to refuse.
 */
export function takeGroupField(body: unknown): { group: string | undefined; rest: unknown } {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('group' in body)) {
    return { group: undefined, rest: body };
  }
  const { group, ...rest } = body as Record<string, unknown>;
  const parsed = groupNameSchema.safeParse(group);
  if (!parsed.success) {
    throw new ValidationError('invalid job', [{ path: 'group', message: parsed.error.issues[0]?.message ?? 'invalid' }]);
  }
  return { group: parsed.data, rest };
}

/**
 * The group a request acts in: the one it names, else the caller's first. Naming a group the caller
 * is not in is a 403 whether or not anything exists there, so the answer reveals nothing; an empty
 * list instead would hide a typo behind "no jobs".
 */
export function resolveGroup(caller: Caller, requested: string | undefined, action: Action): string {
  const group = requested ?? caller.groups[0];
  if (group === undefined) {
    throw new ValidationError('name a group: this caller belongs to none', [{ path: 'group', message: 'required' }]);
  }
  if (!can(caller.role, action, isMember(caller, group))) {
    throw new PermissionDeniedError(
      isMember(caller, group) || !can(caller.role, action, true)
        ? `role ${caller.role} may not perform ${action}`
        : `not a member of group ${group}`,
      { action, role: caller.role, group },
    );
  }
  return group;
}
