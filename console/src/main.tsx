import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter, RouterProvider } from 'react-router';
import { isUnauthorized } from './api.ts';
import { Layout, RouteError } from './layout.tsx';
import { JobsPage } from './pages/jobs-page.tsx';
import { completeOidcSignIn, takeOidcReturn } from './oidc.ts';
import { signOut } from './session.ts';
import './styles.css';

// A refused token (expired, revoked) ends the session: the sign-in form says why.
const onError = (error: unknown) => {
  if (isUnauthorized(error)) signOut('Your token was refused (expired or revoked). Sign in again.');
};

const queryClient = new QueryClient({
  queryCache: new QueryCache({ onError }),
  mutationCache: new MutationCache({ onError }),
  defaultOptions: {
    queries: { retry: false, refetchOnWindowFocus: true, staleTime: 1_000 },
  },
});

// Before the router reads the address: a return from the OIDC issuer carries ?code=&state=.
const oidcReturn = takeOidcReturn();

// The jobs list is the first page; everything else loads when first visited.
const router = createBrowserRouter([
  {
    path: '/',
    Component: Layout,
    ErrorBoundary: RouteError,
    children: [
      { index: true, Component: JobsPage },
      { path: 'jobs/:id', lazy: () => import('./pages/job-page.tsx').then((m) => ({ Component: m.JobPage })) },
      { path: 'submit', lazy: () => import('./pages/submit-page.tsx').then((m) => ({ Component: m.SubmitPage })) },
      { path: 'workers', lazy: () => import('./pages/workers-page.tsx').then((m) => ({ Component: m.WorkersPage })) },
      { path: 'groups', lazy: () => import('./pages/groups-page.tsx').then((m) => ({ Component: m.GroupsPage })) },
      { path: 'usage', lazy: () => import('./pages/usage-page.tsx').then((m) => ({ Component: m.UsagePage })) },
      { path: 'audit', lazy: () => import('./pages/audit-page.tsx').then((m) => ({ Component: m.AuditPage })) },
      { path: '*', Component: NotFound },
    ],
  },
]);

function NotFound() {
  return (
    <section aria-labelledby="not-found">
      <h1 id="not-found">Page not found</h1>
      <p>There is no console page at this address.</p>
    </section>
  );
}

// Back from the issuer's sign-in page: exchange the code (signing in re-renders the layout).
if (oidcReturn) {
  void completeOidcSignIn(oidcReturn)
    .catch((err: unknown) => `Sign-in failed: ${String(err)}`)
    .then((failure) => failure && signOut(failure));
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
);
