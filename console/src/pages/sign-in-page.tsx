import { useState, type FormEvent } from 'react';
import { useConsoleConfig } from '../console-config.ts';
import { startOidcSignIn } from '../oidc.ts';
import { signIn, useSignOutReason } from '../session.ts';

export function SignInPage() {
  const config = useConsoleConfig();
  const [token, setToken] = useState('');
  const reason = useSignOutReason();
  const [oidcError, setOidcError] = useState<string | null>(null);
  const oidc = config.data?.oidc;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (token.trim()) signIn(token);
  };

  return (
    <main id="main" className="sign-in">
      <h1>Sign in to Runplane</h1>
      {reason && (
        <p role="alert" className="error">
          {reason}
        </p>
      )}
      <form onSubmit={submit}>
        <label htmlFor="token">API key or token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          required
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        <button type="submit">Sign in</button>
      </form>
      {oidc && (
        <p>
          <button
            type="button"
            onClick={() => void startOidcSignIn(oidc).catch((err: unknown) => setOidcError(String(err)))}
          >
            Sign in with {oidc.name ?? new URL(oidc.issuer).host}
          </button>
        </p>
      )}
      {oidcError && (
        <p role="alert" className="error">
          {oidcError}
        </p>
      )}
      {config.data?.adminKeyFile && (
        <p className="hint">
          Local platform: the admin key is in <code>{config.data.adminKeyFile}</code> (for example{' '}
          <code>cat {config.data.adminKeyFile}</code>).
        </p>
      )}
      <p className="hint">The token is kept in this tab only and forgotten when you sign out or close it.</p>
    </main>
  );
}
