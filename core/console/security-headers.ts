/**
 * The web console's response headers, defined once: the local platform sends them with every
 * console file and the CDK stack puts the same values in CloudFront's response headers policy.
 *
 * The policy allows scripts and styles from the console's own origin only (Vite emits no inline
 * script; React sets styles through the CSSOM, which CSP does not restrict), API calls to the
 * same origin plus the OIDC issuer when one is configured, and no framing.
 */
export function consoleContentSecurityPolicy(extraConnectOrigins: readonly string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    `connect-src ${["'self'", ...extraConnectOrigins].join(' ')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export const CONSOLE_REFERRER_POLICY = 'no-referrer';
export const CONSOLE_PERMISSIONS_POLICY = 'camera=(), microphone=(), geolocation=(), payment=()';
/** Two years, as the HSTS preload list asks; only sent where the console is served over HTTPS. */
export const CONSOLE_HSTS_SECONDS = 63_072_000;

/** The headers of every console response served over plain HTTP (the local platform). */
export function consoleSecurityHeaders(extraConnectOrigins: readonly string[] = []): Record<string, string> {
  return {
    'content-security-policy': consoleContentSecurityPolicy(extraConnectOrigins),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': CONSOLE_REFERRER_POLICY,
    'permissions-policy': CONSOLE_PERMISSIONS_POLICY,
    'cross-origin-opener-policy': 'same-origin',
  };
}

/** Where an OIDC sign-in has to connect (discovery and token endpoints live on the issuer). */
export function issuerOrigins(issuer: string | undefined): string[] {
  if (!issuer) return [];
  try {
    return [new URL(issuer).origin];
  } catch {
    return [];
  }
}
