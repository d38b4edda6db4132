/** Who is making a request, as resolved by authentication at the edge (core/auth/authenticator.ts). */
export const ROLES = ['admin', 'member', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export interface Caller {
  /** Stable identity: `apikey:<id>` for an API key, the `sub` claim for a JWT, `local` in tests. */
  readonly subject: string;
  readonly role: Role;
  /** Groups the caller belongs to; the first is where their jobs go by default. */
  readonly groups: readonly string[];
}

/** An admin of group `default`: the caller core tests act as when authentication is not under test. */
export const LOCAL_CALLER: Caller = { subject: 'local', role: 'admin', groups: ['default'] };
