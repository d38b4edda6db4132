import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A minimal OIDC provider for the console's sign-in test: discovery, an authorize endpoint that
 * approves at once (redirecting back with a code), and a token endpoint that checks PKCE (S256)
 * before handing out the token `issueToken` makes. Everything it saw is kept for assertions.
 */
export interface FakeIssuer {
  readonly url: string;
  readonly authorizeRequests: URLSearchParams[];
  readonly tokenRequests: URLSearchParams[];
  close(): Promise<void>;
}

export async function startFakeIssuer(issueToken: () => Promise<string>): Promise<FakeIssuer> {
  const authorizeRequests: URLSearchParams[] = [];
  const tokenRequests: URLSearchParams[] = [];
  const codes = new Map<string, { challenge: string; redirectUri: string; clientId: string }>();
  let url = '';

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
    res.end(JSON.stringify(body));
  };
  const readForm = async (req: IncomingMessage) => {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    return new URLSearchParams(text);
  };

  const server = createServer((req, res) => {
    const requestUrl = new URL(req.url ?? '/', url);
    void (async () => {
      if (requestUrl.pathname === '/.well-known/openid-configuration') {
        return json(res, 200, { issuer: url, authorization_endpoint: `${url}/authorize`, token_endpoint: `${url}/token` });
      }
      if (requestUrl.pathname === '/authorize') {
        const p = requestUrl.searchParams;
        authorizeRequests.push(p);
        const code = randomUUID();
        codes.set(code, { challenge: p.get('code_challenge') ?? '', redirectUri: p.get('redirect_uri') ?? '', clientId: p.get('client_id') ?? '' });
        const back = new URL(p.get('redirect_uri') ?? '');
        back.searchParams.set('code', code);
        back.searchParams.set('state', p.get('state') ?? '');
        res.writeHead(302, { location: back.toString() });
        return res.end();
      }
      if (requestUrl.pathname === '/token' && req.method === 'POST') {
        const form = await readForm(req);
        tokenRequests.push(form);
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const ok =
          grant !== undefined &&
          form.get('grant_type') === 'authorization_code' &&
          form.get('redirect_uri') === grant.redirectUri &&
          form.get('client_id') === grant.clientId &&
          createHash('sha256').update(verifier).digest('base64url') === grant.challenge;
        if (!ok) return json(res, 400, { error: 'invalid_grant' });
        return json(res, 200, { id_token: await issueToken(), token_type: 'Bearer', expires_in: 3600 });
      }
      res.writeHead(404).end();
    })().catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    authorizeRequests,
    tokenRequests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
