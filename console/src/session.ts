import { useSyncExternalStore } from 'react';
import { RunplaneClient } from '../../cli/api-client.ts';

/**
 * The caller's token lives in sessionStorage only: it dies with the tab, is never put in a URL or
 * a cookie, and scripts of other origins cannot read it.
 */
const TOKEN_KEY = 'runplane.token';

const listeners = new Set<() => void>();

export function readToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signIn(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
  signOutReason = null;
  notify();
}

let signOutReason: string | null = null;

/** Forgets the token; `reason` is shown once on the sign-in form. */
export function signOut(reason?: string): void {
  signOutReason = reason ?? null;
  sessionStorage.removeItem(TOKEN_KEY);
  notify();
}

/** Why the last session ended, when it was not the user's own "Sign out". */
export function useSignOutReason(): string | null {
  return useSyncExternalStore(subscribe, () => signOutReason);
}

function notify() {
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useToken(): string | null {
  return useSyncExternalStore(subscribe, readToken);
}

/** The same client the CLI uses, against the origin that served the console. */
export function clientFor(token: string): RunplaneClient {
  return new RunplaneClient({
    baseUrl: window.location.origin,
    token,
    // Browsers refuse fetch called as a method of another object ("Illegal invocation").
    fetch: (input, init) => globalThis.fetch(input, init),
    // A page waits on the answer; one quick retry rides out a cold start without hanging the UI.
    retry: { attempts: 2 },
  });
}
