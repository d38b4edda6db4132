/**
 * Where the local platform keeps its credentials, and how the CLI finds them without being told.
 * Imports only node built-ins: the CLI loads this on every command.
 *
 * Layout under the data directory (default `.runplane/`):
 *   auth/            mode 0700
 *   auth/admin-key   the first admin API key (0600)
 *   auth/signing-key.json  the ES256 signing key document (0600), for `runplane token`
 *   local.json       written while the platform runs: API URL, pid, config, auth file paths
 *
 * Discovery: a platform started with another `--data-dir` also leaves a pointer
 * `<runtime dir>/<scheme>_<port>.json` → data dir, in a per-user directory (XDG_RUNTIME_DIR, or
 * `<tmp>/runplane-<uid>` created 0700), so `runplane submit` finds the platform's key from any
 * directory. The key is only ever sent to the loopback URL that platform recorded.
 *
 * Trust: the CLI believes a local.json (its URL, its key file) only when this user alone can
 * have written it: a regular file owned by the user and not writable by group or others. A file
 * planted by another local user in a shared or world-writable directory would otherwise point
 * the CLI, and the admin key or the user's token, at a port that user listens on.
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, readFile, rm, writeFile, chmod, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseApiKey } from './api-key.ts';
import type { SecretSlot } from './bootstrap-admin-key.ts';

export const DEFAULT_DATA_DIR = '.runplane';
/** The same name local/local-state.ts writes (core does not import local/). */
export const LOCAL_STATE_FILE = 'local.json';

export interface LocalAuthPaths {
  readonly dir: string;
  readonly adminKey: string;
  readonly signingKey: string;
}

export function localAuthPaths(dataDir: string): LocalAuthPaths {
  const dir = join(resolve(dataDir), 'auth');
  return { dir, adminKey: join(dir, 'admin-key'), signingKey: join(dir, 'signing-key.json') };
}

/** What the platform adds to local.json for the CLI. */
export interface LocalAuthState {
  readonly adminKeyFile: string;
  readonly signingKeyFile: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Writes a secret file readable by its owner only. `exclusive`: fail if it exists, so two
 * processes starting at once cannot each write a different key.
 */
export async function writeSecretFile(path: string, content: string, options: { exclusive?: boolean } = {}): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  await writeFile(path, content, { mode: 0o600, flag: options.exclusive ? 'wx' : 'w' });
  // The mode above applies only when the file is created (and through the umask): make sure.
  await chmod(path, 0o600);
}

export async function readOptionalFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** A SecretSlot backed by a 0600 file: the local platform's admin key. */
export function fileSecretSlot(path: string): SecretSlot {
  return {
    read: async () => (await readOptionalFile(path))?.trim() || undefined,
    write: (value) => writeSecretFile(path, `${value}\n`, { exclusive: true }),
  };
}

// ------------------------------------------------------------------------------------------------
// Runtime pointers: API URL → data dir
// ------------------------------------------------------------------------------------------------

function uidTag(): string {
  return typeof process.getuid === 'function' ? String(process.getuid()) : (process.env.USERNAME ?? 'user');
}

/** Candidate per-user runtime directories, preferred first. */
export function runtimeDirs(env: Env = process.env): string[] {
  const dirs: string[] = [];
  if (env.XDG_RUNTIME_DIR) dirs.push(join(env.XDG_RUNTIME_DIR, 'runplane'));
  dirs.push(join(tmpdir(), `runplane-${uidTag()}`));
  return dirs;
}

/** A directory only this user can write: not a symlink, owned by us, no group/other access. */
async function isPrivateDir(dir: string): Promise<boolean> {
  try {
    const stat = await lstat(dir);
    if (!stat.isDirectory() || stat.isSymbolicLink()) return false;
    if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) return false;
    return process.platform === 'win32' || (stat.mode & 0o077) === 0;
  } catch {
    return false;
  }
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function loopbackEndpoint(url: string): { protocol: string; port: string } | undefined {
  if (!URL.canParse(url)) return undefined;
  const u = new URL(url);
  if (!LOOPBACK_HOSTS.has(u.hostname) && !/^127\.\d+\.\d+\.\d+$/.test(u.hostname)) return undefined;
  return { protocol: u.protocol, port: u.port || (u.protocol === 'https:' ? '443' : '80') };
}

/** Same local server: both loopback, same scheme and port (localhost and 127.0.0.1 are one). */
export function sameLocalServer(a: string, b: string): boolean {
  const x = loopbackEndpoint(a);
  const y = loopbackEndpoint(b);
  return x !== undefined && y !== undefined && x.protocol === y.protocol && x.port === y.port;
}

function pointerName(apiUrl: string): string | undefined {
  const endpoint = loopbackEndpoint(apiUrl);
  return endpoint ? `${endpoint.protocol.replace(':', '')}_${endpoint.port}.json` : undefined;
}

/**
 * Records that the platform serving `apiUrl` keeps its data in `dataDir`. Returns the pointer's
 * path (to remove on stop), or undefined when no private runtime directory could be had.
 */
export async function registerLocalPlatform(apiUrl: string, dataDir: string, env: Env = process.env): Promise<string | undefined> {
  const name = pointerName(apiUrl);
  if (!name) return undefined;
  for (const dir of runtimeDirs(env)) {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    } catch {
      continue;
    }
    if (!(await isPrivateDir(dir))) continue;
    const path = join(dir, name);
    await writeSecretFile(path, JSON.stringify({ api: apiUrl, dataDir: resolve(dataDir) }));
    return path;
  }
  return undefined;
}

export async function unregisterLocalPlatform(pointer: string | undefined): Promise<void> {
  if (pointer) await rm(pointer, { force: true });
}

// ------------------------------------------------------------------------------------------------
// CLI side
// ------------------------------------------------------------------------------------------------

interface RecordedPlatform {
  readonly api?: unknown;
  readonly pid?: unknown;
  readonly auth?: { readonly adminKeyFile?: unknown; readonly signingKeyFile?: unknown };
}

type Ignored = (path: string, why: string) => void;

/**
 * The JSON in `path` if this user alone can have written it (see Trust, above), else undefined
 * (and `onIgnored` says why). Checked on the open descriptor, so the file read is the file
 * checked; never follows a final symlink and never blocks on a FIFO.
 */
async function readOwnJson(path: string, uid: number | undefined, onIgnored?: Ignored): Promise<unknown> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') onIgnored?.(path, 'it is a symbolic link');
    return undefined;
  }
  try {
    const stat = await handle.stat();
    const why = !stat.isFile()
      ? 'it is not a regular file'
      : uid !== undefined && stat.uid !== uid
        ? `it belongs to uid ${stat.uid}, not to you`
        : process.platform !== 'win32' && (stat.mode & 0o022) !== 0
          ? 'it is writable by group or others'
          : undefined;
    if (why) {
      onIgnored?.(path, why);
      return undefined;
    }
    return JSON.parse(await handle.readFile('utf8')) as unknown;
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}

function currentUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

function isAlive(pid: unknown): boolean {
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, but another user's process; its key file would not be readable anyway.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Data directories that may belong to the platform at `baseUrl`, most explicit first. */
async function candidateDataDirs(baseUrl: string, env: Env, cwd: string, uid: number | undefined): Promise<string[]> {
  const dirs: string[] = [];
  if (env.RUNPLANE_DATA_DIR) dirs.push(resolve(cwd, env.RUNPLANE_DATA_DIR));
  dirs.push(resolve(cwd, DEFAULT_DATA_DIR));
  const name = pointerName(baseUrl);
  if (name) {
    for (const dir of runtimeDirs(env)) {
      if (!(await isPrivateDir(dir))) continue;
      const pointer = (await readOwnJson(join(dir, name), uid)) as { dataDir?: unknown } | undefined;
      if (typeof pointer?.dataDir === 'string') dirs.push(pointer.dataDir);
    }
  }
  return [...new Set(dirs)];
}

export interface LocalPlatformDiscovery {
  readonly env: Env;
  readonly cwd?: string;
  /** Whose files to believe; the current user's by default (tests pass another). */
  readonly uid?: number;
  /** Told about a local.json that was not believed, and why (the CLI prints it). */
  readonly onIgnored?: Ignored;
}

export interface LocalPlatformLookup extends LocalPlatformDiscovery {
  /** The API the CLI is about to call. */
  readonly baseUrl: string;
}

/** A trusted local.json of a platform that is still running, or undefined. */
async function runningPlatformState(dir: string, lookup: LocalPlatformDiscovery): Promise<RecordedPlatform | undefined> {
  const uid = lookup.uid ?? currentUid();
  const state = (await readOwnJson(join(dir, LOCAL_STATE_FILE), uid, lookup.onIgnored)) as RecordedPlatform | undefined;
  return typeof state?.api === 'string' && loopbackEndpoint(state.api) && isAlive(state.pid) ? state : undefined;
}

/** The data directory of the running local platform serving `baseUrl`, if there is one. */
export async function findLocalPlatformDataDir(lookup: LocalPlatformLookup): Promise<string | undefined> {
  if (!loopbackEndpoint(lookup.baseUrl)) return undefined;
  const uid = lookup.uid ?? currentUid();
  for (const dir of await candidateDataDirs(lookup.baseUrl, lookup.env, lookup.cwd ?? process.cwd(), uid)) {
    const state = await runningPlatformState(dir, lookup);
    if (state && sameLocalServer(state.api as string, lookup.baseUrl)) return dir;
  }
  return undefined;
}

/**
 * The API URL of the local platform running from this directory (`RUNPLANE_DATA_DIR`, else
 * `./.runplane`), as its local.json records it: what the CLI calls when neither `--url` nor
 * `RUNPLANE_URL` is given, so a platform started with `--port` is found. Only a loopback URL in a
 * trusted local.json of a live process counts.
 */
export async function findLocalPlatformApi(discovery: LocalPlatformDiscovery): Promise<string | undefined> {
  const cwd = discovery.cwd ?? process.cwd();
  const dirs = [
    ...(discovery.env.RUNPLANE_DATA_DIR ? [resolve(cwd, discovery.env.RUNPLANE_DATA_DIR)] : []),
    resolve(cwd, DEFAULT_DATA_DIR),
  ];
  for (const dir of new Set(dirs)) {
    const state = await runningPlatformState(dir, discovery);
    if (state) return (state.api as string).replace(/\/+$/, '');
  }
  return undefined;
}

/**
 * The admin key of the local platform serving `baseUrl`, or undefined. Only a loopback URL that a
 * running platform recorded as its own ever gets the key, so a remote RUNPLANE_URL never does.
 */
export async function findLocalAdminKey(lookup: LocalPlatformLookup): Promise<string | undefined> {
  const dir = await findLocalPlatformDataDir(lookup);
  if (!dir) return undefined;
  const state = await runningPlatformState(dir, lookup);
  const file = typeof state?.auth?.adminKeyFile === 'string' ? state.auth.adminKeyFile : localAuthPaths(dir).adminKey;
  const key = (await readOptionalFile(file).catch(() => undefined))?.trim();
  return key && parseApiKey(key) ? key : undefined;
}

/**
 * The signing key file `runplane token` uses: `<dataDir>/auth/signing-key.json` for the given data
 * directory; else that of the running local platform serving `baseUrl`; else the first that exists
 * under RUNPLANE_DATA_DIR or `./.runplane` (a platform that is not running now).
 */
export async function findLocalSigningKeyFile(lookup: LocalPlatformLookup & { readonly dataDir?: string }): Promise<string | undefined> {
  const cwd = lookup.cwd ?? process.cwd();
  if (lookup.dataDir !== undefined) return localAuthPaths(resolve(cwd, lookup.dataDir)).signingKey;
  const running = await findLocalPlatformDataDir(lookup);
  const dirs = [
    ...(running ? [running] : []),
    ...(lookup.env.RUNPLANE_DATA_DIR ? [resolve(cwd, lookup.env.RUNPLANE_DATA_DIR)] : []),
    resolve(cwd, DEFAULT_DATA_DIR),
  ];
  for (const dir of dirs) {
    const file = localAuthPaths(dir).signingKey;
    if ((await readOptionalFile(file).catch(() => undefined)) !== undefined) return file;
  }
  return undefined;
}
