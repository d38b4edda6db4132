import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdtemp, open, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import * as tar from 'tar';
import type { RunplaneClient } from './api-client.ts';
import { DEFAULT_WORKDIR_LIMITS, type WorkdirLimits } from '../core/workdir-limits.ts';

/** The directory cannot be shipped as it is (over the limits, unreadable); the message says why. */
export class WorkdirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkdirError';
  }
}

export interface PackedWorkdir {
  /** The tar.gz, in a temporary directory: `dispose()` removes it. */
  readonly file: string;
  readonly sha256: string;
  readonly size: number;
  /** Entries in the archive (files, directories, symlinks). */
  readonly files: number;
  /** Symlinks left out because they point outside the directory. */
  readonly skipped: readonly string[];
  dispose(): Promise<void>;
}

const IGNORE_FILES = ['.gitignore', '.runplaneignore'];

/**
 * The paths of `dir` to ship, sorted, directories before their contents: everything but `.git`,
 * what a `.gitignore` or `.runplaneignore` (in `dir` or any directory below, each applying to its
 * own subtree, as git does) excludes, and symlinks whose target leaves `dir`. Sockets, devices and
 * FIFOs are skipped.
 */
export async function listWorkdirEntries(
  dir: string,
  limits: WorkdirLimits = DEFAULT_WORKDIR_LIMITS,
): Promise<{ paths: string[]; bytes: number; skipped: string[] }> {
  const paths: string[] = [];
  const skipped: string[] = [];
  let bytes = 0;
  const walk = async (relative: string, rules: readonly { base: string; ig: Ignore }[]): Promise<void> => {
    const here = join(dir, relative);
    const local = ignore();
    let hasRules = false;
    for (const name of IGNORE_FILES) {
      const text = await readFile(join(here, name), 'utf8').catch(() => undefined);
      if (text !== undefined) {
        local.add(text);
        hasRules = true;
      }
    }
    const scoped = hasRules ? [...rules, { base: relative, ig: local }] : rules;
    const entries = (await readdir(here, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name === '.git') continue;
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      const isDir = entry.isDirectory();
      const ignored = scoped.some(({ base, ig }) => {
        const below = base === '' ? path : path.slice(base.length + 1);
        return ig.ignores(isDir ? `${below}/` : below);
      });
      if (ignored) continue;
      if (isDir) {
        paths.push(path);
        await walk(path, scoped);
      } else if (entry.isFile()) {
        paths.push(path);
        bytes += (await lstat(join(dir, path))).size;
      } else if (entry.isSymbolicLink()) {
        const target = await readlink(join(dir, path));
        const resolved = posix.normalize(posix.join(posix.dirname(path), target));
        if (target.startsWith('/') || resolved === '..' || resolved.startsWith('../')) skipped.push(path);
        else paths.push(path);
      }
      if (paths.length > limits.maxFiles) throw new WorkdirError(`${dir} holds more than ${limits.maxFiles} files (the limit); add a .runplaneignore`);
      if (bytes > limits.maxUnpackedBytes) throw new WorkdirError(`${dir} holds more than ${limits.maxUnpackedBytes} bytes (the limit); add a .runplaneignore`);
    }
  };
  await walk('', []);
  return { paths, bytes, skipped };
}

/**
 * Packs `dir` into a deterministic tar.gz: sorted entries, mtimes fixed at the epoch, no owners
 * (`portable`), modes kept. The same tree therefore always gives the same bytes and the same
 * SHA-256, which is what lets a repeated submit skip the upload.
 */
export async function packWorkdir(dir: string, limits: WorkdirLimits = DEFAULT_WORKDIR_LIMITS): Promise<PackedWorkdir> {
  const { paths, skipped } = await listWorkdirEntries(dir, limits);
  const tmp = await mkdtemp(join(tmpdir(), 'runplane-workdir-'));
  const file = join(tmp, 'workdir.tar.gz');
  const dispose = () => rm(tmp, { recursive: true, force: true });
  try {
    // gzip level 1: packing runs before every submit, and project trees (code, already-compressed
    // data) gain little from harder compression while the CPU time grows several-fold.
    await tar.c({ file, cwd: dir, gzip: { level: 1 }, portable: true, mtime: new Date(0), noDirRecurse: true, follow: false }, paths);
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    const size = (await lstat(file)).size;
    if (size > limits.maxArchiveBytes) {
      throw new WorkdirError(`${dir} packs to ${size} bytes, over the ${limits.maxArchiveBytes}-byte limit; add a .runplaneignore`);
    }
    return { file, sha256: hash.digest('hex'), size, files: paths.length, skipped, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

export interface UploadProgress {
  (sentBytes: number, totalBytes: number): void;
}

/**
 * Stores a packed directory through the API: declare it (`POST /v1/uploads`, where the limits are
 * checked before any byte moves), then PUT it, or its parts, to the presigned URLs. Resolves with
 * the archive id and whether anything was uploaded (nothing when the group already has it).
 */
export async function uploadWorkdir(
  client: RunplaneClient,
  packed: PackedWorkdir,
  options: { group?: string; onProgress?: UploadProgress; fetch?: typeof fetch } = {},
): Promise<{ archive: string; uploaded: boolean }> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const declared = await client.createUpload({
    sha256: packed.sha256,
    size: packed.size,
    files: packed.files,
    ...(options.group ? { group: options.group } : {}),
  });
  if (declared.exists) return { archive: declared.archive, uploaded: false };
  const upload = declared.upload;
  if (upload.kind === 'put') {
    const body = await readFile(packed.file);
    await putBytes(doFetch, upload.url, body, upload.headers);
    options.onProgress?.(packed.size, packed.size);
    return { archive: declared.archive, uploaded: true };
  }
  const handle = await open(packed.file, 'r');
  try {
    const parts: { partNumber: number; etag: string }[] = [];
    let sent = 0;
    let next = 0;
    // Four parts in flight (as lib-storage does): one connection at a time leaves most of the link idle.
    const sender = async () => {
      for (let i = next++; i < upload.parts.length; i = next++) {
        const part = upload.parts[i]!;
        const start = (part.partNumber - 1) * upload.partBytes;
        const length = Math.min(upload.partBytes, packed.size - start);
        const buffer = Buffer.alloc(length);
        await handle.read(buffer, 0, length, start);
        parts.push({ partNumber: part.partNumber, etag: await putBytes(doFetch, part.url, buffer, {}) });
        sent += length;
        options.onProgress?.(sent, packed.size);
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, upload.parts.length) }, sender));
    await client.completeUpload({
      sha256: packed.sha256,
      uploadId: upload.uploadId,
      parts: parts.sort((a, b) => a.partNumber - b.partNumber),
      ...(options.group ? { group: options.group } : {}),
    });
  } finally {
    await handle.close();
  }
  return { archive: declared.archive, uploaded: true };
}

/** One PUT to a presigned URL, tried three times (a part is safe to resend); resolves with its ETag. */
async function putBytes(doFetch: typeof fetch, url: string, body: Buffer, headers: Readonly<Record<string, string>>): Promise<string> {
  let last: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const response = await doFetch(url, { method: 'PUT', body, headers: { ...headers, 'content-length': String(body.length) } });
      if (response.ok) {
        await response.body?.cancel().catch(() => undefined);
        return response.headers.get('etag') ?? '';
      }
      last = new WorkdirError(`upload refused: HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
      if (response.status < 500) break;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
  }
  throw last instanceof Error ? last : new WorkdirError(String(last));
}

/**
 * `submit --workdir DIR`: pack, declare, upload if needed; resolves with the archive id. Notes
 * (on a terminal) say what was skipped and whether anything was sent.
 */
export async function shipWorkdir(
  client: RunplaneClient,
  dir: string,
  options: { group?: string; fetch?: typeof fetch; note?: (text: string) => void | Promise<void> } = {},
): Promise<string> {
  const packed = await packWorkdir(dir);
  try {
    for (const link of packed.skipped) await options.note?.(`left out ${link}: a symlink that points outside ${dir}`);
    const { archive, uploaded } = await uploadWorkdir(client, packed, {
      ...(options.group ? { group: options.group } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    await options.note?.(
      uploaded
        ? `uploaded ${dir} (${packed.files} entries, ${packed.size} bytes) as ${archive}`
        : `${dir} is already stored as ${archive}; nothing uploaded`,
    );
    return archive;
  } finally {
    await packed.dispose();
  }
}
