import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  errors,
  jwtVerify,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { DependencyError } from '../errors.ts';
import { systemClock, type Clock } from '../ids.ts';
import { ROLES, type Caller, type Role } from './caller.ts';
import { UnauthenticatedError } from './errors.ts';
import { isGroupName } from './groups.ts';

/** Verifies a bearer JWT and returns the caller it names; throws UnauthenticatedError otherwise. */
export type JwtVerifier = (token: string) => Promise<Caller>;

export interface OwnTokenOptions {
  readonly issuer: string;
  readonly audience: string;
  /** Public keys (JWKs with `kid`) of the deployment's signing keys; old ones stay while rotating. */
  readonly publicKeys: readonly JWK[];
}

export interface OidcOptions {
  readonly jwksUrl: string;
  readonly issuer: string;
  readonly audience: string;
  /** Claim (or dotted path, e.g. `realm_access.roles`) holding the groups. */
  readonly groupsClaim: string;
  /** Claim (or dotted path) holding the Runplane role; a token without one is a viewer. */
  readonly roleClaim: string;
}

export interface JwtVerifierOptions {
  readonly own?: OwnTokenOptions;
  readonly oidc?: OidcOptions;
  /** Allowed skew between our clock and the issuer's for exp/nbf; 30 s by default. */
  readonly clockToleranceSeconds?: number;
  readonly clock?: Clock;
  /** Remote JWKS fetch timeout; 3 s by default, well inside the API's 30 s. */
  readonly jwksTimeoutMs?: number;
  /**
   * The longest lifetime a token may claim (`exp - iat`, or `exp - now` without `iat`); 24 h by
   * default. A stolen long-lived token is a standing credential; a short one expires on its own.
   */
  readonly maxLifetimeSeconds?: number;
}

export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600;
const MAX_GROUPS = 100;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const SUBJECT_PATTERN = /^[^\u0000-\u001f\u007f-\u009f]{1,256}$/;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * One verifier for both kinds of JWT the API accepts, told apart by their (unverified) `iss`:
 * - the deployment's own ES256 tokens (`runplane token`), checked against its public keys;
 * - tokens of one OIDC identity provider, checked against its JWKS (RS256 or ES256).
 * Algorithms are pinned per issuer, so `alg: none` and HS256-with-the-public-key never reach a
 * key; `exp` and `sub` are required; issuer and audience must match exactly.
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const clock = options.clock ?? systemClock;
  const clockTolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  const maxLifetime = options.maxLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  const checkLifetime = (payload: JWTPayload) => {
    const now = Math.floor(clock().getTime() / 1000);
    if (payload.iat !== undefined && payload.iat > now + clockTolerance) throw new UnauthenticatedError('JWT issued in the future');
    const lifetime = (payload.exp ?? 0) - (payload.iat ?? now);
    if (lifetime > maxLifetime) throw new UnauthenticatedError(`JWT lifetime ${lifetime} s exceeds the maximum ${maxLifetime} s`);
    return payload;
  };
  const own = options.own && options.own.publicKeys.length > 0 ? options.own : undefined;
  const ownKeys = own ? createLocalJWKSet({ keys: own.publicKeys.map((k) => ({ ...k })) }) : undefined;
  const oidc = options.oidc;
  if (own && oidc && own.issuer === oidc.issuer) {
    throw new Error(`the OIDC issuer must differ from the deployment's own issuer (${own.issuer})`);
  }
  const oidcKeys = oidc ? dependencyGuard(createRemoteJWKSet(new URL(oidc.jwksUrl), {
    timeoutDuration: options.jwksTimeoutMs ?? 3000,
    // A token with an unknown kid refetches at most every 30 s: rotation works, floods do not fan out.
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
  })) : undefined;

  return async (token) => {
    if (token.length > 8192 || !COMPACT_JWS.test(token)) throw new UnauthenticatedError('malformed JWT');
    let issuer: string | undefined;
    try {
      issuer = decodeJwt(token).iss;
    } catch (err) {
      throw new UnauthenticatedError('malformed JWT', { cause: err });
    }
    try {
      if (own && ownKeys && issuer === own.issuer) {
        const { payload } = await jwtVerify(token, ownKeys, {
          issuer: own.issuer,
          audience: own.audience,
          algorithms: ['ES256'],
          requiredClaims: ['exp', 'sub'],
          clockTolerance,
          currentDate: clock(),
        });
        return toCaller(checkLifetime(payload), 'groups', 'role');
      }
      if (oidc && oidcKeys && issuer === oidc.issuer) {
        const { payload } = await jwtVerify(token, oidcKeys, {
          issuer: oidc.issuer,
          audience: oidc.audience,
          algorithms: ['RS256', 'ES256'],
          requiredClaims: ['exp', 'sub'],
          clockTolerance,
          currentDate: clock(),
        });
        return toCaller(checkLifetime(payload), oidc.groupsClaim, oidc.roleClaim);
      }
    } catch (err) {
      if (err instanceof errors.JOSEError) throw new UnauthenticatedError(`JWT refused: ${err.code}`, { cause: err });
      throw err;
    }
    throw new UnauthenticatedError('JWT from an unknown issuer');
  };
}

/**
 * Key lookup failures that say nothing about the token (the identity provider is down or slow)
 * become DependencyError, a 503 the client may retry, instead of a misleading 401.
 */
function dependencyGuard(keys: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await keys(header, token);
    } catch (err) {
      if (
        err instanceof errors.JWKSNoMatchingKey ||
        err instanceof errors.JWKSMultipleMatchingKeys ||
        err instanceof errors.JOSEAlgNotAllowed ||
        err instanceof errors.JOSENotSupported
      ) {
        throw err;
      }
      throw new DependencyError('identity provider keys', err);
    }
  };
}

/** A claim by exact name, else by dotted path (`realm_access.roles`). */
export function readClaim(payload: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  let value: unknown = payload;
  for (const part of name.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

const asStrings = (value: unknown): string[] =>
  typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

/**
 * The strongest Runplane role named by the claim (a string or a list, as identity providers send
 * either); a token without a recognised role is a viewer.
 */
export function roleFromClaim(value: unknown): Role {
  const named = new Set(asStrings(value));
  return ROLES.find((role) => named.has(role)) ?? 'viewer';
}

/** Valid group names from the claim, deduplicated; others are dropped, not fatal. */
export function groupsFromClaim(value: unknown): string[] {
  return [...new Set(asStrings(value).filter(isGroupName))].slice(0, MAX_GROUPS);
}

function toCaller(payload: JWTPayload, groupsClaim: string, roleClaim: string): Caller {
  const subject = payload.sub;
  if (typeof subject !== 'string' || !SUBJECT_PATTERN.test(subject)) throw new UnauthenticatedError('JWT subject is not usable');
  return {
    subject,
    role: roleFromClaim(readClaim(payload, roleClaim)),
    groups: groupsFromClaim(readClaim(payload, groupsClaim)),
  };
}
