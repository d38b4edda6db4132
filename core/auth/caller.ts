/** Who is making a request, as resolved by authentication at the edge. */
export type Role = 'admin' | 'member' | 'viewer';

export interface Caller {
  /** Stable identity: an API key id, a JWT subject, or `local` for the embedded platform. */
  readonly subject: string;
  readonly role: Role;
  /** Groups the caller belongs to; the first is where their jobs go by default. */
  readonly groups: readonly string[];
}

/** The embedded local platform's single user until authentication lands: an admin of group `default`. */
export const LOCAL_CALLER: Caller = { subject: 'local', role: 'admin', groups: ['default'] };
