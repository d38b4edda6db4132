import { describe, expect, it } from 'vitest';
import { ROLES, type Caller, type Role } from '../../core/auth/caller.ts';
import { PermissionDeniedError } from '../../core/auth/errors.ts';
import { resolveGroup, takeGroupField } from '../../core/auth/groups.ts';
import { ACTIONS, can, canSeeGroup, requirePermission, type Action } from '../../core/auth/policy.ts';
import { ValidationError } from '../../core/errors.ts';

// The expected answers, written out cell by cell rather than derived from POLICY, so a change to
// the policy table has to be made here too, on purpose. [role, action, own group, other group]
const EXPECTED: [Role, Action, boolean, boolean][] = [
  ['admin', 'job:read', true, true],
  ['admin', 'job:submit', true, true],
  ['admin', 'job:cancel', true, true],
  ['admin', 'job:retry', true, true],
  ['admin', 'worker:read', true, true],
  ['admin', 'apikey:manage', true, true],
  ['admin', 'audit:read', true, true],
  ['admin', 'group:read', true, true],
  ['admin', 'group:manage', true, true],
  ['member', 'job:read', true, false],
  ['member', 'job:submit', true, false],
  ['member', 'job:cancel', true, false],
  ['member', 'job:retry', true, false],
  ['member', 'worker:read', true, true],
  ['member', 'apikey:manage', false, false],
  ['member', 'audit:read', false, false],
  ['member', 'group:read', true, false],
  ['member', 'group:manage', false, false],
  ['viewer', 'job:read', true, false],
  ['viewer', 'job:submit', false, false],
  ['viewer', 'job:cancel', false, false],
  ['viewer', 'job:retry', false, false],
  ['viewer', 'worker:read', true, true],
  ['viewer', 'apikey:manage', false, false],
  ['viewer', 'audit:read', false, false],
  ['viewer', 'group:read', true, false],
  ['viewer', 'group:manage', false, false],
];

describe('authorization policy', () => {
  it('has an expectation for every role × action', () => {
    expect(EXPECTED.map(([r, a]) => `${r} ${a}`).sort()).toEqual(ROLES.flatMap((r) => ACTIONS.map((a) => `${r} ${a}`)).sort());
  });

  it.each(EXPECTED)('%s %s: own group %s, other group %s', (role, action, own, other) => {
    expect(can(role, action, true)).toBe(own);
    expect(can(role, action, false)).toBe(other);
  });

  const caller = (role: Role, groups: string[] = ['ml']): Caller => ({ subject: `${role}-1`, role, groups });

  it('hides other groups from everyone but admins', () => {
    expect(canSeeGroup(caller('viewer'), 'ml')).toBe(true);
    expect(canSeeGroup(caller('member'), 'vision')).toBe(false);
    expect(canSeeGroup(caller('admin', []), 'vision')).toBe(true);
  });

  it('requirePermission throws PERMISSION_DENIED naming the action, and passes what is allowed', () => {
    expect(() => requirePermission(caller('member'), 'job:cancel', 'ml')).not.toThrow();
    const denied = (() => {
      try {
        requirePermission(caller('viewer'), 'job:cancel', 'ml');
      } catch (err) {
        return err;
      }
    })();
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect(denied).toMatchObject({ code: 'PERMISSION_DENIED', details: { action: 'job:cancel', role: 'viewer', group: 'ml' } });
    expect(() => requirePermission(caller('member'), 'apikey:manage')).toThrow(PermissionDeniedError);
  });
});

describe('groups', () => {
  const member: Caller = { subject: 'm', role: 'member', groups: ['ml', 'vision'] };

  it.each([
    ['no group named: the first', undefined, 'job:submit', 'ml'],
    ['a group of the caller', 'vision', 'job:submit', 'vision'],
  ] as const)('%s', (_name, requested, action, expected) => {
    expect(resolveGroup(member, requested, action)).toBe(expected);
  });

  it('refuses a group the caller is not in with 403, and a viewer submitting anywhere', () => {
    expect(() => resolveGroup(member, 'nlp', 'job:read')).toThrow(/not a member of group nlp/);
    expect(() => resolveGroup({ ...member, role: 'viewer' }, 'ml', 'job:submit')).toThrow(PermissionDeniedError);
    expect(resolveGroup({ subject: 'a', role: 'admin', groups: [] }, 'nlp', 'job:submit')).toBe('nlp');
  });

  it('asks a caller without groups to name one', () => {
    expect(() => resolveGroup({ subject: 'a', role: 'admin', groups: [] }, undefined, 'job:read')).toThrow(ValidationError);
  });

  it('splits `group` off a body and validates it', () => {
    expect(takeGroupField({ command: ['x'], group: 'ml' })).toEqual({ group: 'ml', rest: { command: ['x'] } });
    expect(takeGroupField({ command: ['x'] })).toEqual({ group: undefined, rest: { command: ['x'] } });
    expect(takeGroupField('not an object')).toEqual({ group: undefined, rest: 'not an object' });
    for (const bad of ['', 'a#b', 'a b', '../x', 'x'.repeat(200), 7, null, 'tab\there']) {
      expect(() => takeGroupField({ command: ['x'], group: bad }), String(bad)).toThrow(ValidationError);
    }
  });
});
