import type { Caller, Role } from './caller.ts';
import { PermissionDeniedError } from './errors.ts';

/**
 * Authorization as data: what each role may do, in its own groups and in others'. Pure, so the
 * whole table is tested cell by cell (test/unit/auth-policy.test.ts) and read in one place.
 *
 * Job and group actions are scoped by the group. The rest are deployment-wide: `ownGroup` does not
 * change their answer.
 */
export const ACTIONS = [
  'job:read',
  'job:submit',
  'job:cancel',
  'job:retry',
  'worker:read',
  'apikey:manage',
  'audit:read',
  'group:read',
  'group:manage',
] as const;
export type Action = (typeof ACTIONS)[number];

/** `any`: in every group; `own`: only in the caller's groups; `none`: never. */
export type Scope = 'any' | 'own' | 'none';

export const POLICY: Readonly<Record<Role, Readonly<Record<Action, Scope>>>> = {
  admin: {
    'job:read': 'any',
    'job:submit': 'any',
    'job:cancel': 'any',
    'job:retry': 'any',
    'worker:read': 'any',
    'apikey:manage': 'any',
    'audit:read': 'any',
    'group:read': 'any',
    'group:manage': 'any',
  },
  member: {
    'job:read': 'own',
    'job:submit': 'own',
    'job:cancel': 'own',
    'job:retry': 'own',
    // Pools and their capacity are shared by everyone; a worker lists only job ids, which open nothing.
    'worker:read': 'any',
    'apikey:manage': 'none',
    'audit:read': 'none',
    // A group's quotas and use are its members' business; setting them is an admin's.
    'group:read': 'own',
    'group:manage': 'none',
  },
  viewer: {
    'job:read': 'own',
    'job:submit': 'none',
    'job:cancel': 'none',
    'job:retry': 'none',
    'worker:read': 'any',
    'apikey:manage': 'none',
    'audit:read': 'none',
    'group:read': 'own',
    'group:manage': 'none',
  },
};

/** Whether `role` may perform `action` on something in one of the caller's groups (`ownGroup`) or not. */
export function can(role: Role, action: Action, ownGroup: boolean): boolean {
  const scope = POLICY[role][action];
  return scope === 'any' || (scope === 'own' && ownGroup);
}

export function isMember(caller: Caller, group: string): boolean {
  return caller.groups.includes(group);
}

/** Whether the caller may see things of `group` at all: if not, they answer as if they did not exist. */
export function canSeeGroup(caller: Caller, group: string): boolean {
  return can(caller.role, 'job:read', isMember(caller, group));
}

/**
 * Throws PermissionDeniedError unless the caller may do `action` (in `group`, for job actions).
 * Call it only where the caller may already see the target, so a 403 reveals nothing a 404 hides.
 */
export function requirePermission(caller: Caller, action: Action, group?: string): void {
  const own = group === undefined ? true : isMember(caller, group);
  if (can(caller.role, action, own)) return;
  throw new PermissionDeniedError(
    group === undefined
      ? `role ${caller.role} may not perform ${action}`
      : `role ${caller.role} may not perform ${action} in group ${group}`,
    { action, role: caller.role, ...(group === undefined ? {} : { group }) },
  );
}
