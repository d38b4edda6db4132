import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localAuthPaths } from '../../core/auth/local-files.ts';
import { parseSigningKey } from '../../core/auth/signing-key.ts';
import { runCli } from '../../cli/main.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';

/**
 * The local platform's credentials end to end: created on first start (owner-only files), found by
 * the CLI with no settings, kept across restarts (the in-memory database loses the key item; the
 * platform stores it again), and `runplane keys` / `runplane token` against the real API.
 */
describe('local platform authentication', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'runplane-auth-'));
  let platform: LocalPlatform;

  const start = () => startLocalPlatform({ inMemory: true, port: 0, workers: 0, dataDir, log: () => undefined });

  async function cli(args: string[]) {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await runCli(args, { stdout, stderr, env: { ...process.env, RUNPLANE_URL: platform.url, RUNPLANE_TOKEN: '' } });
    return { code, stdout: out, stderr: err };
  }

  beforeAll(async () => {
    platform = await start();
  }, 60_000);

  afterAll(async () => {
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates owner-only credentials on first start and records only their paths', () => {
    const paths = localAuthPaths(dataDir);
    expect(statSync(paths.dir).mode & 0o777).toBe(0o700);
    expect(statSync(paths.adminKey).mode & 0o777).toBe(0o600);
    expect(statSync(paths.signingKey).mode & 0o777).toBe(0o600);
    expect(readFileSync(paths.adminKey, 'utf8').trim()).toBe(platform.adminKey);
    const state = readFileSync(join(dataDir, 'local.json'), 'utf8');
    expect(JSON.parse(state)).toMatchObject({ auth: { adminKeyFile: paths.adminKey, signingKeyFile: paths.signingKey } });
    expect(state).not.toContain(platform.adminKey);
    expect(state).not.toContain(parseSigningKey(readFileSync(paths.signingKey, 'utf8')).privateKey.d);
  });

  it('refuses requests without a key; the CLI finds the key by itself', async () => {
    expect((await fetch(`${platform.url}/v1/jobs`)).status).toBe(401);
    expect((await fetch(`${platform.url}/healthz`)).status).toBe(200);
    const submitted = await cli(['submit', '--', 'true']);
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(submitted.stdout.trim()).toMatch(/^[0-9A-Z]{26}$/);
  });

  it('runplane keys create | list | revoke, and the key works until revoked', async () => {
    const created = await cli(['keys', 'create', '--name', 'ci', '--role', 'member', '--group', 'ml', '--ttl', '1d']);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^rp_/);
    expect(created.stderr).toMatch(/not shown again/);
    const id = key.slice(3, 29);

    const asMember = await cli(['--token', key, '--json', 'submit', '--group', 'ml', '--', 'true']);
    expect(asMember.code, asMember.stderr).toBe(0);
    expect(JSON.parse(asMember.stdout)).toMatchObject({ group: 'ml', owner: `apikey:${id}` });
    const denied = await cli(['--token', key, 'keys', 'list']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('PERMISSION_DENIED');

    const listed = await cli(['keys', 'list']);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+ci\\s+member\\s+ml\\s+\\S+\\s+active`));
    expect(listed.stdout).not.toContain(key);

    expect((await cli(['keys', 'revoke', id])).stdout).toContain(`revoked ${id}`);
    expect((await cli(['keys', 'list'])).stdout).toMatch(new RegExp(`${id}.*revoked`));
    const refused = await cli(['--token', key, 'list']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('UNAUTHENTICATED');
  });

  it('runplane token mints a JWT the platform accepts, with its role and groups', async () => {
    const minted = await cli(['token', '--subject', 'alice', '--group', 'vision', '--role', 'viewer', '--ttl', '10m']);
    expect(minted.code, minted.stderr).toBe(0);
    const token = minted.stdout.trim();
    const listed = await cli(['--token', token, '--json', 'list']);
    expect(listed.code, listed.stderr).toBe(0);
    const submit = await cli(['--token', token, 'submit', '--', 'true']);
    expect(submit.code).toBe(1);
    expect(submit.stderr).toContain('PERMISSION_DENIED');
    expect((await cli(['token', '--subject', 'x', '--group', 'bad#group'])).code).toBe(2);
    expect((await cli(['token', '--subject', 'x', '--group', 'g', '--key-file', join(dataDir, 'missing.json')])).code).toBe(2);
  });

  it('keeps the same keys across a restart, storing the admin key again in the fresh database', async () => {
    const { adminKey } = platform;
    const kid = parseSigningKey(readFileSync(localAuthPaths(dataDir).signingKey, 'utf8')).kid;
    const token = (await cli(['token', '--subject', 'bob', '--group', 'ml'])).stdout.trim();
    await platform.stop();
    expect(existsSync(join(dataDir, 'local.json'))).toBe(false);
    platform = await start();
    expect(platform.adminKey).toBe(adminKey);
    expect(parseSigningKey(readFileSync(localAuthPaths(dataDir).signingKey, 'utf8')).kid).toBe(kid);
    const res = await fetch(`${platform.url}/v1/jobs`, { headers: { authorization: `Bearer ${adminKey}` } });
    expect(res.status).toBe(200);
    expect((await fetch(`${platform.url}/v1/jobs`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await cli(['list'])).code).toBe(0);
  }, 60_000);
});
