import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createConsoleSite, isApiPath } from '../../local/console-site.ts';

describe('local console site', () => {
  const root = mkdtempSync(join(tmpdir(), 'runplane-site-'));
  const dist = join(root, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), '<!doctype html>index');
  writeFileSync(join(dist, 'assets', 'app-1.js'), 'js');
  writeFileSync(join(dist, 'favicon.svg'), '<svg/>');
  writeFileSync(join(root, 'secret.txt'), 'top secret');
  const site = createConsoleSite({ dir: dist, config: { adminKeyFile: '/data/auth/admin-key' } });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const get = async (path: string) => {
    const r = await site('GET', path);
    if (!r) throw new Error('no answer');
    return { status: r.statusCode, type: r.headers['content-type'], body: r.body.toString(), headers: r.headers };
  };

  it('serves files with their type and caching, client routes as index.html', async () => {
    expect(await get('/assets/app-1.js')).toMatchObject({ status: 200, type: 'text/javascript; charset=utf-8', body: 'js' });
    expect((await get('/assets/app-1.js')).headers['cache-control']).toContain('immutable');
    expect(await get('/favicon.svg')).toMatchObject({ status: 200, type: 'image/svg+xml' });
    for (const route of ['/', '/jobs/01JABC', '/submit']) {
      expect(await get(route), route).toMatchObject({ status: 200, type: 'text/html; charset=utf-8', body: '<!doctype html>index' });
    }
    expect((await get('/')).headers['cache-control']).toBe('no-cache');
  });

  it('answers a missing asset with 404, never with HTML', async () => {
    expect(await get('/assets/nope.js')).toMatchObject({ status: 404, type: 'text/plain; charset=utf-8' });
    expect(await get('/robots.txt')).toMatchObject({ status: 404 });
  });

  it('never serves a file outside its folder', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/../../secret.txt', '/..%2fsecret.txt', '/assets/%2e%2e%2f%2e%2e%2fsecret.txt']) {
      const r = await get(path);
      expect(r.body, path).not.toContain('top secret');
    }
    expect((await get('/a%00b')).status).toBe(400);
    expect((await get('/%E0%A4%A')).status).toBe(400);
    expect((await get('/..\\secret.txt')).status).toBe(400);
  });

  it('sends the security headers and the generated config, and leaves other methods and the API alone', async () => {
    const page = await get('/');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(JSON.parse((await get('/console-config.json')).body)).toEqual({ adminKeyFile: '/data/auth/admin-key' });
    expect(await site('POST', '/')).toBeUndefined();
    expect(['/v1', '/v1/jobs', '/healthz'].every(isApiPath)).toBe(true);
    expect(['/v1x', '/', '/jobs/v1/'].some(isApiPath)).toBe(false);
  });

  it('says how to build the console when it is missing', async () => {
    const bare = createConsoleSite({ dir: join(root, 'missing'), config: {} });
    const r = await bare('GET', '/');
    expect(r?.statusCode).toBe(404);
    expect(r?.body.toString()).toContain('npm run build:console');
  });
});
