import { DomainError, ValidationError } from '../errors.ts';

/**
 * An error that belongs to the HTTP request itself (size, content type, malformed JSON) rather than
 * to the domain. `code` is stable and documented; `details` is safe to show to the client.
 */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details: Record<string, unknown> };
}

export interface MappedError {
  readonly statusCode: number;
  readonly body: ErrorBody;
  /** True when the client did nothing wrong: log the cause, show only a generic message. */
  readonly internal: boolean;
}

/** Status for each domain error code; anything unlisted is a 409 state conflict. */
const STATUS_BY_CODE: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  NOT_CANCELLABLE: 409,
  JOB_NOT_IN_STATE: 409,
  LEASE_LOST: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
  UPLOAD_TOO_LARGE: 413,
  DEPENDENCY_UNAVAILABLE: 503,
};

export function mapError(err: unknown): MappedError {
  if (err instanceof HttpError) {
    return { statusCode: err.statusCode, body: errorBody(err.code, err.message, err.details), internal: err.statusCode >= 500 };
  }
  if (err instanceof DomainError) {
    const statusCode = STATUS_BY_CODE[err.code] ?? 409;
    if (statusCode === 503) {
      return {
        statusCode,
        body: errorBody(err.code, 'a backing service is unavailable; retry shortly', {}),
        internal: true,
      };
    }
    return { statusCode, body: errorBody(err.code, err.message, err.details), internal: false };
  }
  return { statusCode: 500, body: errorBody('INTERNAL', 'internal error', {}), internal: true };
}

export function errorBody(code: string, message: string, details: Record<string, unknown> = {}): ErrorBody {
  return { error: { code, message, details } };
}

export { ValidationError };
