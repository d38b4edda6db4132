import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { consoleSecurityHeaders, issuerOrigins } from '../core/console/security-headers.ts';
import type { HttpResponse } from './api-gateway.ts';

/**
 * The web console's static files (console/dist), served by the local platform on the API's own
 * port: every path outside the API is a console path. Files are served with their type, hashed
 * assets cached for good, anything else falls back to index.html (client-side routes), and a path
 * that escapes the folder is refused. `/console-config.json` is generated: it is what the CDK
 * deployment writes next to the files, plus where the local admin key is (its path only).
 */
export interface ConsoleConfigFile {
  readonly adminKeyFile?: string;
  readonly oidc?: { readonly issuer: string; readonly clientId: string; readonly name?: string; readonly scopes?: string };
}

export interface ConsoleSiteOptions {
  /** The built console; a missing folder serves a page that says how to build it. */
  readonly dir: string;
  readonly config: ConsoleConfigFile;
}

export type ConsoleSite = (method: string, path: string) => Promise<HttpResponse | undefined>;

export const CONSOLE_CONFIG_PATH = '/console-config.json';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** Paths the console never answers: the API's own. */
export function isApiPath(path: string): boolean {
  return path === '/v1' || path.startsWith('/v1/') || path === '/healthz';
}

export function createConsoleSite(options: ConsoleSiteOptions): ConsoleSite {
  const root = resolve(options.dir);
  const headers = consoleSecurityHeaders(issuerOrigins(options.config.oidc?.issuer));
  const response = (statusCode: number, type: string, body: Buffer, extra: Record<string, string> = {}): HttpResponse => ({
    statusCode,
    headers: { ...headers, 'content-type': type, ...extra },
    cookies: [],
    body,
  });
  const text = (statusCode: number, message: string) =>
    response(statusCode, 'text/plain; charset=utf-8', Buffer.from(message), { 'cache-control': 'no-store' });

  const readFileIn = async (relative: string): Promise<Buffer | undefined> => {
    const file = resolve(root, `.${relative}`);
    // resolve() removed every `..`; what is left must still be inside the folder.
    if (file !== root && !file.startsWith(root + sep)) return undefined;
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    return readFile(file);
  };

  return async (method, rawPath) => {
    if (method !== 'GET' && method !== 'HEAD') return undefined;
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      return text(400, 'malformed path');
    }
    if (path.includes('\0') || path.includes('\\')) return text(400, 'malformed path');
    if (path === CONSOLE_CONFIG_PATH) {
      return response(200, CONTENT_TYPES['.json']!, Buffer.from(JSON.stringify(options.config)), { 'cache-control': 'no-store' });
    }
    const file = path.endsWith('/') ? undefined : await readFileIn(path);
    if (file) {
      const immutable = path.startsWith('/assets/');
      return response(200, CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream', file, {
        'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      });
    }
    // A missing asset is a 404, not the index page: a script URL must never answer HTML.
    if (path.startsWith('/assets/') || extname(path) !== '') return text(404, 'not found');
    const index = await readFileIn('/index.html');
    if (!index) {
      return text(
        404,
        `The web console is not built (no ${join(root, 'index.html')}). Run \`npm run build:console\` (npm ci does it).`,
      );
    }
    return response(200, CONTENT_TYPES['.html']!, index, { 'cache-control': 'no-cache' });
  };
}
