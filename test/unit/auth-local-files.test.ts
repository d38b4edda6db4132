import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../core/auth/api-key.ts';
import {
  fileSecretSlot,
  findLocalAdminKey,
  findLocalSigningKeyFile,
  localAuthPaths,
  registerLocalPlatform,
  sameLocalServer,
  unregisterLocalPlatform,
  writeSecretFile,
} from '../../core/auth/local-files.ts';
import { resolveToken } from '../../cli/credentials.ts';

/**
 * How the CLI finds the local platform's admin key without being told, and never sends it
 * anywhere but the loopback URL that platform recorded.
 */
describe('local credentials', () => {
  let root: string;
  let xdg: string;
  const port = 48_123;
  const api = `http://127.0.0.1:${port}`;
  let key: string;

  /** A data dir as a running platform leaves it: local.json (this process as its pid) and the key. */
  function platformDir(dir: string, options: { api?: string; pid?: number } = {}) {
    const paths = localAuthPaths(dir);
    mkdirSync(paths.dir, { recursive: true });
    writeFileSync(paths.adminKey, `${key}\n`, { mode: 0o600 });
    writeFileSync(
      join(dir, 'local.json'),
      JSON.stringify({ api: options.api ?? api, pid: options.pid ?? process.pid, auth: { adminKeyFile: paths.adminKey, signingKeyFile: paths.signingKey } }),
      // As the platform writes it: the CLI believes only a local.json no one else can write.
      { mode: 0o600 },
    );
    return dir;
  }

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'runplane-creds-'));
    xdg = join(root, 'xdg');
    mkdirSync(xdg, { mode: 0o700 });
    key = generateApiKey().token;
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('finds the key of the platform in ./.runplane for its own URL only', async () => {
    const cwd = join(root, 'project');
    platformDir(join(cwd, '.runplane'));
    const env = { XDG_RUNTIME_DIR: xdg };
    expect(await resolveToken({ env, baseUrl: api, cwd })).toBe(key);
    expect(await resolveToken({ env, baseUrl: `http://localhost:${port}/`, cwd })).toBe(key);
    expect(await resolveToken({ env, baseUrl: `http://127.0.0.1:${port + 1}`, cwd })).toBeUndefined();
    expect(await resolveToken({ env, baseUrl: 'https://runplane.example.com', cwd })).toBeUndefined();
    expect(await resolveToken({ env, baseUrl: `https://127.0.0.1:${port}`, cwd })).toBeUndefined();
    // Explicit tokens win; without a URL there is nothing to match.
    expect(await resolveToken({ env: { ...env, RUNPLANE_TOKEN: 'tok' }, baseUrl: api, cwd })).toBe('tok');
    expect(await resolveToken({ flag: 'flag', env, baseUrl: api, cwd })).toBe('flag');
    expect(await resolveToken({ env, cwd })).toBeUndefined();
  });

  it('ignores a platform that is no longer running, and a key file that is not a key', async () => {
    const exited = spawnSync(process.execPath, ['-e', '0']).pid!;
    const cwd = join(root, 'stale');
    platformDir(join(cwd, '.runplane'), { pid: exited });
    expect(await findLocalAdminKey({ baseUrl: api, env: {}, cwd })).toBeUndefined();

    const other = join(root, 'garbage');
    platformDir(join(other, '.runplane'));
    writeFileSync(localAuthPaths(join(other, '.runplane')).adminKey, 'not a key');
    expect(await findLocalAdminKey({ baseUrl: api, env: {}, cwd: other })).toBeUndefined();
  });

  it('honours RUNPLANE_DATA_DIR', async () => {
    const dir = platformDir(join(root, 'elsewhere'));
    expect(await findLocalAdminKey({ baseUrl: api, env: { RUNPLANE_DATA_DIR: dir }, cwd: join(root, 'nowhere') })).toBe(key);
  });

  it('finds a platform started with another --data-dir through its pointer, until it unregisters', async () => {
    const dir = platformDir(join(root, 'custom-data'));
    const env = { XDG_RUNTIME_DIR: xdg };
    const pointer = await registerLocalPlatform(api, dir, env);
    expect(pointer).toBe(join(xdg, 'runplane', `http_${port}.json`));
    expect(statSync(pointer!).mode & 0o777).toBe(0o600);
    expect(statSync(join(xdg, 'runplane')).mode & 0o777).toBe(0o700);
    expect(await findLocalAdminKey({ baseUrl: api, env, cwd: join(root, 'some', 'other', 'dir') })).toBe(key);
    await unregisterLocalPlatform(pointer);
    expect(await findLocalAdminKey({ baseUrl: api, env, cwd: join(root, 'some', 'other', 'dir') })).toBeUndefined();
  });

  it('does not trust a runtime directory others can write', async () => {
    const dir = platformDir(join(root, 'custom-data'));
    const env = { XDG_RUNTIME_DIR: xdg };
    const pointer = await registerLocalPlatform(api, dir, env);
    chmodSync(join(xdg, 'runplane'), 0o777);
    expect(await findLocalAdminKey({ baseUrl: api, env, cwd: root })).toBeUndefined();
    chmodSync(join(xdg, 'runplane'), 0o700);
    await unregisterLocalPlatform(pointer);
  });

  it('writes secrets owner-only and never over an existing one', async () => {
    const file = join(root, 'auth', 'admin-key');
    const slot = fileSecretSlot(file);
    expect(await slot.read()).toBeUndefined();
    await slot.write(key);
    expect(await slot.read()).toBe(key);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(root, 'auth')).mode & 0o777).toBe(0o700);
    await expect(slot.write(generateApiKey().token)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await slot.read()).toBe(key);
    // An existing looser file is tightened when rewritten.
    const loose = join(root, 'loose');
    writeFileSync(loose, 'x', { mode: 0o644 });
    await writeSecretFile(loose, 'y');
    expect(statSync(loose).mode & 0o777).toBe(0o600);
  });

  it('locates the signing key for `runplane token`', async () => {
    const cwd = join(root, 'project');
    expect(await findLocalSigningKeyFile({ baseUrl: api, env: {}, cwd })).toBeUndefined();
    const data = platformDir(join(cwd, '.runplane'));
    writeFileSync(localAuthPaths(data).signingKey, '{}');
    expect(await findLocalSigningKeyFile({ baseUrl: api, env: {}, cwd })).toBe(localAuthPaths(data).signingKey);
    expect(await findLocalSigningKeyFile({ baseUrl: api, env: {}, cwd, dataDir: 'x' })).toBe(join(cwd, 'x', 'auth', 'signing-key.json'));
  });

  it.each([
    ['http://127.0.0.1:8787', 'http://localhost:8787/', true],
    ['http://[::1]:8787', 'http://127.0.0.1:8787', true],
    ['http://127.0.0.1:8787', 'http://127.0.0.1:8788', false],
    ['http://127.0.0.1:80', 'http://127.0.0.1', true],
    ['http://10.0.0.1:8787', 'http://10.0.0.1:8787', false],
    ['http://127.0.0.1.example.com:8787', 'http://127.0.0.1:8787', false],
    ['not a url', 'http://127.0.0.1:8787', false],
  ])('sameLocalServer(%s, %s) = %s', (a, b, expected) => {
    expect(sameLocalServer(a, b)).toBe(expected);
  });
});
