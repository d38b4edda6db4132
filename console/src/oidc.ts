import type { ConsoleConfig } from './console-config.ts';
import { pkceChallenge, randomString } from './pkce.ts';
import { signIn } from './session.ts';

/**
 * "Sign in with <issuer>": OAuth 2.0 authorization code with PKCE (RFC 7636), the flow for a
 * public client in a browser. The verifier and state wait in sessionStorage across the redirect;
 * the code comes back on the console's own origin and is exchanged for a token at once, and the
 * URL is cleaned so the code is never left in the history.
 */
type OidcConfig = NonNullable<ConsoleConfig['oidc']>;

const PENDING_KEY = 'runplane.oidc.pending';

interface Pending {
  readonly state: string;
  readonly verifier: string;
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly redirectUri: string;
}

interface Discovery {
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
}

export async function startOidcSignIn(config: OidcConfig): Promise<void> {
  const response = await fetch(`${config.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`the issuer's discovery document answered HTTP ${response.status}`);
  const discovery = (await response.json()) as Discovery;
  const pending: Pending = {
    state: randomString(),
    verifier: randomString(),
    tokenEndpoint: discovery.token_endpoint,
    clientId: config.clientId,
    redirectUri: `${window.location.origin}/`,
  };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(discovery.authorization_endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', config.clientId);
  url.searchParams.set('redirect_uri', pending.redirectUri);
  url.searchParams.set('scope', config.scopes ?? 'openid profile email');
  url.searchParams.set('state', pending.state);
  url.searchParams.set('code_challenge', await pkceChallenge(pending.verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  window.location.assign(url.toString());
}

export interface OidcReturn {
  readonly code: string;
  readonly state: string | null;
  readonly pending: string;
}

/**
 * On the redirect back: takes the code and state out of the URL at once (synchronously, before
 * the router reads the address, so they never reach a page's filters or the history).
 */
export function takeOidcReturn(): OidcReturn | null {
  const params = new URLSearchParams(window.location.search);
  const code = params.get('code');
  const pending = sessionStorage.getItem(PENDING_KEY);
  if (!code || !pending) return null;
  sessionStorage.removeItem(PENDING_KEY);
  window.history.replaceState(null, '', window.location.pathname);
  return { code, state: params.get('state'), pending };
}

/** Exchanges the code and signs in. Returns an error message, or null. */
export async function completeOidcSignIn(back: OidcReturn): Promise<string | null> {
  const { code } = back;
  const raw = back.pending;
  const pending = JSON.parse(raw) as Pending;
  if (back.state !== pending.state) return 'Sign-in failed: the answer does not belong to this sign-in.';
  const response = await fetch(pending.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: pending.redirectUri,
      client_id: pending.clientId,
      code_verifier: pending.verifier,
    }),
  });
  if (!response.ok) return `Sign-in failed: the issuer answered HTTP ${response.status}.`;
  const tokens = (await response.json()) as { id_token?: string; access_token?: string };
  // The API verifies the issuer's JWTs through its JWKS; the ID token's audience is the client id.
  const token = tokens.id_token ?? tokens.access_token;
  if (!token) return 'Sign-in failed: the issuer returned no token.';
  signIn(token);
  return null;
}
