import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Logger } from '../logger.ts';
import { looksLikeApiKey } from './api-key.ts';
import type { Caller } from './caller.ts';
import { UnauthenticatedError } from './errors.ts';
import type { JwtVerifier } from './jwt-verifier.ts';

/** Resolves the caller from the request, or throws UnauthenticatedError (a 401). */
export type Authenticator = (event: APIGatewayProxyEventV2) => Promise<Caller>;

export interface AuthenticatorDependencies {
  readonly apiKeys: { authenticate(token: string): Promise<Caller> };
  /** Absent when the deployment accepts no JWTs (no public keys and no OIDC issuer configured). */
  readonly jwt?: JwtVerifier;
  readonly log?: Logger;
}

/** RFC 6750 b64token, bounded: anything else in the header is refused before any lookup. */
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i;
const MAX_TOKEN_LENGTH = 8192;

/**
 * Resolves `Authorization: Bearer <token>` to a caller: `rp_…` tokens are API keys, anything else
 * is tried as a JWT. Every refusal is the same UnauthenticatedError (a 401 with a fixed body); the
 * reason goes to the log with the request id, and the token itself never does.
 */
export function createAuthenticator(deps: AuthenticatorDependencies): Authenticator {
  return async (event: APIGatewayProxyEventV2) => {
    try {
      const token = bearerToken(event);
      if (looksLikeApiKey(token)) return await deps.apiKeys.authenticate(token);
      if (!deps.jwt) throw new UnauthenticatedError('JWTs are not accepted by this deployment');
      return await deps.jwt(token);
    } catch (err) {
      if (err instanceof UnauthenticatedError) {
        deps.log?.('warn', 'authentication failed', {
          reason: err.reason,
          route: event.routeKey,
          requestId: event.requestContext?.requestId,
          sourceIp: event.requestContext?.http?.sourceIp,
        });
      }
      throw err;
    }
  };
}

function bearerToken(event: APIGatewayProxyEventV2): string {
  const header = event.headers?.authorization;
  if (header === undefined || header === '') throw new UnauthenticatedError('no Authorization header');
  if (header.length > MAX_TOKEN_LENGTH + 16) throw new UnauthenticatedError('Authorization header too long');
  const match = BEARER.exec(header.trim());
  if (!match) throw new UnauthenticatedError('Authorization is not a Bearer token');
  return match[1]!;
}
