import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../core/auth/api-key.ts';
import { findLocalAdminKey, findLocalPlatformApi, localAuthPaths } from '../../core/auth/local-files.ts';
import { runCli } from '../../cli/main.ts';

/**
 * Without --url or RUNPLANE_URL the CLI calls the local platform running from its directory, as
 * `.runplane/local.json` records it (issue 8, item 3), and it believes a local.json, and sends the
 * admin key it names, only when the current user alone can have written it (issue 9, item 5).
 */
describe('finding the local platform of this directory', () => {
  let root: string;
  let cwd: string;
  let key: string;
  const port = 18_787;
  const api = `http://127.0.0.1:${port}`;

  /** A data dir as a running platform leaves it: local.json (this process as its pid, 0600) and the key. */
  function writePlatform(dir: string, options: { api?: string; pid?: number; mode?: number } = {}) {
    const paths = localAuthPaths(dir);
    mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    writeFileSync(paths.adminKey, `${key}\n`, { mode: 0o600 });
    const file = join(dir, 'local.json');
    writeFileSync(
      file,
      JSON.stringify({ api: options.api ?? api, pid: options.pid ?? process.pid, auth: { adminKeyFile: paths.adminKey } }),
      { mode: 0o600 },
    );
    chmodSync(file, options.mode ?? 0o600);
    return file;
  }

  /** Runs `runplane list` in `cwd` against a fake fetch that records where each request went and with which token. */
  async function list(env: Record<string, string> = {}) {
    const calls: { url: string; authorization: string | undefined }[] = [];
    const stderr: string[] = [];
    const code = await runCli(['list'], {
      cwd,
      env: { XDG_RUNTIME_DIR: join(root, 'no-runtime-dir'), ...env },
      stdout: new Writable({ write: (_c, _e, cb) => cb() }),
      stderr: new Writable({
        write: (chunk: Buffer, _e, cb) => {
          stderr.push(chunk.toString());
          cb();
        },
      }),
      fetch: (async (input: string | URL, init?: RequestInit) => {
        calls.push({ url: String(input), authorization: (init?.headers as Record<string, string>).authorization });
        return new Response(JSON.stringify({ jobs: [], nextCursor: null }), { status: 200, headers: { 'content-type': 'application/json' } });
      }) as typeof fetch,
      retry: { attempts: 1 },
    });
    return { code, calls, stderr: stderr.join('') };
  }

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'runplane-discovery-'));
    cwd = join(root, 'project');
    mkdirSync(cwd);
    key = generateApiKey().token;
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('calls the port the platform of this directory recorded, with its admin key', async () => {
    writePlatform(join(cwd, '.runplane'));
    const result = await list();
    expect(result.code, result.stderr).toBe(0);
    expect(result.calls).toEqual([{ url: `${api}/v1/jobs`, authorization: `Bearer ${key}` }]);
  });

  it('prefers --url and RUNPLANE_URL, and RUNPLANE_DATA_DIR over ./.runplane', async () => {
    writePlatform(join(cwd, '.runplane'));
    const explicit = await list({ RUNPLANE_URL: 'http://127.0.0.1:9999' });
    expect(explicit.calls.map((c) => c.url)).toEqual(['http://127.0.0.1:9999/v1/jobs']);
    // Not the URL the platform recorded: the key is not sent.
    expect(explicit.calls[0]?.authorization).toBeUndefined();

    const other = join(root, 'other-data');
    writePlatform(other, { api: 'http://127.0.0.1:28787' });
    const fromDataDir = await list({ RUNPLANE_DATA_DIR: other });
    expect(fromDataDir.calls).toEqual([{ url: 'http://127.0.0.1:28787/v1/jobs', authorization: `Bearer ${key}` }]);
  });

  it('falls back to the default address when the recorded platform is gone or not local', async () => {
    const file = writePlatform(join(cwd, '.runplane'), { pid: 2 ** 22 + 12_345 });
    expect((await list()).calls.map((c) => c.url)).toEqual(['http://127.0.0.1:8787/v1/jobs']);

    writeFileSync(file, JSON.stringify({ api: 'https://runplane.example.com', pid: process.pid }), { mode: 0o600 });
    const remote = await list();
    expect(remote.calls).toEqual([{ url: 'http://127.0.0.1:8787/v1/jobs', authorization: undefined }]);
  });

  it.each([
    ['world-writable', 0o666],
    ['group-writable', 0o620],
  ])('never believes a %s local.json: no URL from it, no key to the port it names', async (_what, mode) => {
    // Planted by another local user: it points at a port that user listens on, and at the real key file.
    const file = writePlatform(join(cwd, '.runplane'), { api: 'http://127.0.0.1:45678', mode });
    const discovered = await list();
    expect(discovered.calls).toEqual([{ url: 'http://127.0.0.1:8787/v1/jobs', authorization: undefined }]);
    expect(discovered.stderr).toContain(`runplane: ignoring ${file}: it is writable by group or others`);

    // Even when told to call that port, the key it names is not sent there.
    const told = await list({ RUNPLANE_URL: 'http://127.0.0.1:45678' });
    expect(told.calls).toEqual([{ url: 'http://127.0.0.1:45678/v1/jobs', authorization: undefined }]);

    chmodSync(file, 0o600);
    expect((await list()).calls).toEqual([{ url: 'http://127.0.0.1:45678/v1/jobs', authorization: `Bearer ${key}` }]);
  });

  it("never believes another user's local.json, a symlink or a FIFO", async () => {
    const dataDir = join(cwd, '.runplane');
    const file = writePlatform(dataDir);
    const uid = (process.getuid?.() ?? 0) + 1;
    const ignored: string[] = [];
    const onIgnored = (_path: string, why: string) => void ignored.push(why);
    expect(await findLocalPlatformApi({ env: {}, cwd, uid, onIgnored })).toBeUndefined();
    expect(await findLocalAdminKey({ baseUrl: api, env: {}, cwd, uid, onIgnored })).toBeUndefined();
    expect(ignored[0]).toMatch(/^it belongs to uid \d+, not to you$/);
    expect(await findLocalPlatformApi({ env: {}, cwd })).toBe(api);

    const elsewhere = join(root, 'real.json');
    writeFileSync(elsewhere, JSON.stringify({ api, pid: process.pid }), { mode: 0o600 });
    rmSync(file);
    symlinkSync(elsewhere, file);
    expect(await findLocalPlatformApi({ env: {}, cwd, onIgnored })).toBeUndefined();
    expect(ignored).toContain('it is a symbolic link');

    // A FIFO would block a plain open until someone writes to it.
    rmSync(file);
    expect(spawnSync('mkfifo', [file]).status).toBe(0);
    expect(await findLocalPlatformApi({ env: {}, cwd, onIgnored })).toBeUndefined();
    expect(ignored).toContain('it is not a regular file');
  });
});
