import { DomainError } from '../errors.ts';

/**
 * The request carries no credential, or one that does not verify. The client always sees the same
 * message and empty details, whatever the reason: telling an attacker "expired" versus "bad
 * signature" versus "unknown key" only helps them. The reason is kept for the server's log.
 */
export class UnauthenticatedError extends DomainError {
  readonly code = 'UNAUTHENTICATED';
  constructor(readonly reason: string, options?: ErrorOptions) {
    super('authentication required', {}, options);
  }
}

/** The caller may see the resource but its role does not allow the action (a viewer cancelling). */
export class PermissionDeniedError extends DomainError {
  readonly code = 'PERMISSION_DENIED';
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, details);
  }
}

export class ApiKeyNotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  constructor(readonly keyId: string) {
    super(`API key ${keyId} not found`, { keyId });
  }
}

/** The key index is full (see MAX_API_KEYS): old keys must be removed before new ones are made. */
export class ApiKeyLimitError extends DomainError {
  readonly code = 'API_KEY_LIMIT';
  constructor(limit: number) {
    super(`this deployment already holds ${limit} API keys, the most it can list`, { limit });
  }
}

/**
 * An action added to a key write by another module (the audit entry) failed its condition, so
 * nothing was written. The caller that supplied the actions decides whether to rebuild and retry
 * (the audit chain's head moved under a concurrent append).
 */
export class ExtraActionConflictError extends DomainError {
  readonly code = 'CONFLICT';
  constructor(readonly actionIndex: number, cause?: unknown) {
    super('a concurrent change conflicted with this one; retry', {}, { cause });
  }
}
