import { useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';
import { isRouteErrorResponse, NavLink, Outlet, useRouteError } from 'react-router';
import { ClientContext, describeError } from './api.ts';
import { userTimeZone } from './format.ts';
import { SignInPage } from './pages/sign-in-page.tsx';
import { clientFor, signOut, useToken } from './session.ts';

const NAV = [
  { to: '/', label: 'Jobs', end: true },
  { to: '/submit', label: 'Submit' },
  { to: '/workers', label: 'Workers' },
  { to: '/groups', label: 'Groups' },
  { to: '/usage', label: 'Usage' },
  { to: '/audit', label: 'Audit' },
];

/** The frame of every page: the sign-in form until there is a token, then navigation and content. */
export function Layout() {
  const token = useToken();
  const queryClient = useQueryClient();
  const client = useMemo(() => (token ? clientFor(token) : null), [token]);
  if (!client) return <SignInPage />;
  return (
    <ClientContext.Provider value={client}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Runplane</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map((item) => (
              <li key={item.to}>
                <NavLink to={item.to} end={item.end ?? false}>
                  {item.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <span className="zone">Times in {userTimeZone}</span>
        <button
          type="button"
          onClick={() => {
            signOut();
            queryClient.clear();
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </ClientContext.Provider>
  );
}

/** A page that throws shows what went wrong instead of a blank screen. */
export function RouteError() {
  const error = useRouteError();
  const message = isRouteErrorResponse(error) ? `${error.status} ${error.statusText}` : describeError(error);
  return (
    <main id="main">
      <h1>Something went wrong</h1>
      <p role="alert">{message}</p>
      <p>
        <a href="/">Back to the jobs</a>
      </p>
    </main>
  );
}

export function ErrorMessage({ error }: { error: unknown }) {
  return (
    <p role="alert" className="error">
      {describeError(error)}
    </p>
  );
}
