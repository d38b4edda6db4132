import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile, link } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unpackWorkdirArchive, WorkdirArchiveError } from '../../core/uploads/unpack-workdir-archive.ts';
import { DEFAULT_WORKDIR_LIMITS } from '../../core/workdir-limits.ts';
import { listWorkdirEntries, packWorkdir } from '../../cli/workdir-archive.ts';

describe('work directory archives', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'rp-unpack-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function tree(files: Record<string, string>, base = join(root, 'src')) {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(base, path, '..'), { recursive: true });
      await writeFile(join(base, path), content);
    }
    return base;
  }

  it('packs deterministically: the same tree gives the same SHA-256, a changed file another', async () => {
    const dir = await tree({ 'a.txt': 'a', 'sub/b.txt': 'b' });
    const first = await packWorkdir(dir);
    // New mtimes, same content: still the same archive.
    await writeFile(join(dir, 'a.txt'), 'a');
    const second = await packWorkdir(dir);
    await writeFile(join(dir, 'a.txt'), 'A');
    const third = await packWorkdir(dir);
    expect(second.sha256).toBe(first.sha256);
    expect(third.sha256).not.toBe(first.sha256);
    await Promise.all([first.dispose(), second.dispose(), third.dispose()]);
  });

  it('honours .gitignore and .runplaneignore at every level, never ships .git, skips escaping symlinks', async () => {
    const dir = await tree({
      '.gitignore': 'secret.txt\n*.log\n',
      'secret.txt': 's',
      'run.log': 'l',
      'keep.txt': 'k',
      'data/.runplaneignore': 'big.dat\n',
      'data/big.dat': 'b',
      'data/small.dat': 's',
      '.git/HEAD': 'ref',
    });
    await symlink('/etc/passwd', join(dir, 'outside'));
    await symlink('keep.txt', join(dir, 'inside'));
    const { paths, skipped } = await listWorkdirEntries(dir);
    expect(paths).toEqual(['.gitignore', 'data', 'data/.runplaneignore', 'data/small.dat', 'inside', 'keep.txt']);
    expect(skipped).toEqual(['outside']);
  });

  it('round-trips files, modes and inner symlinks', async () => {
    const dir = await tree({ 'train.sh': '#!/bin/sh\necho hi\n', 'data/x.txt': 'x' });
    await import('node:fs/promises').then((fs) => fs.chmod(join(dir, 'train.sh'), 0o755));
    await symlink('data/x.txt', join(dir, 'x-link'));
    const packed = await packWorkdir(dir);
    const dest = join(root, 'dest');
    await mkdir(dest);
    await unpackWorkdirArchive(packed.file, dest, DEFAULT_WORKDIR_LIMITS);
    expect((await stat(join(dest, 'train.sh'))).mode & 0o777).toBe(0o755);
    expect(await readFile(join(dest, 'x-link'), 'utf8')).toBe('x');
    await packed.dispose();
  });

  async function refused(build: (src: string) => Promise<string[]>, options: tar.TarOptionsWithAliasesAsyncFile = { file: '' }) {
    const src = join(root, 'hostile');
    await mkdir(src, { recursive: true });
    const entries = await build(src);
    const file = join(root, 'hostile.tar.gz');
    await tar.c({ ...options, file, cwd: src, gzip: true, preservePaths: true }, entries);
    const dest = join(root, 'dest');
    await mkdir(dest, { recursive: true });
    const result = unpackWorkdirArchive(file, dest, DEFAULT_WORKDIR_LIMITS);
    await expect(result).rejects.toBeInstanceOf(WorkdirArchiveError);
    return result.catch((e: Error) => e.message);
  }

  it('refuses an entry that climbs out with ..', async () => {
    await writeFile(join(root, 'evil.txt'), 'x');
    const message = await refused(async () => ['../evil.txt']);
    expect(message).toMatch(/outside the work directory/);
  });

  it('refuses a symlink that points outside', async () => {
    const message = await refused(async (src) => {
      await symlink('/etc', join(src, 'etc'));
      return ['etc'];
    });
    expect(message).toMatch(/symlink "etc" points outside/);
  });

  it('refuses an entry below a symlink (a write through it would land where the link points)', async () => {
    const message = await refused(async (src) => {
      await mkdir(join(src, 'real'));
      await writeFile(join(src, 'real', 'x'), 'x');
      await symlink('real', join(src, 'link'));
      // Packed as written: `link` is stored as a symlink, `link/x` as a file below it.
      return ['real', 'link', 'link/x'];
    });
    expect(message).toMatch(/"link\/x" lies below a symlink/);
  });

  it('refuses hard links', async () => {
    const message = await refused(async (src) => {
      await writeFile(join(src, 'a'), 'a');
      await link(join(src, 'a'), join(src, 'b'));
      return ['a', 'b'];
    });
    expect(message).toMatch(/is a Link/);
  });

  it('refuses an archive over the file count or unpacked size limits', async () => {
    const dir = await tree({ 'a.txt': 'a'.repeat(1000), 'b.txt': 'b' });
    const packed = await packWorkdir(dir);
    const dest = join(root, 'dest');
    await mkdir(dest);
    await expect(unpackWorkdirArchive(packed.file, dest, { ...DEFAULT_WORKDIR_LIMITS, maxFiles: 1 })).rejects.toThrow(/holds 2 entries; the limit is 1/);
    await expect(unpackWorkdirArchive(packed.file, dest, { ...DEFAULT_WORKDIR_LIMITS, maxUnpackedBytes: 500 })).rejects.toThrow(/unpacks to 1001 bytes/);
    await packed.dispose();
  });

  it('refuses bytes that are not a tar.gz', async () => {
    const file = join(root, 'garbage.tar.gz');
    await writeFile(file, 'this is not an archive');
    await mkdir(join(root, 'dest'));
    await expect(unpackWorkdirArchive(file, join(root, 'dest'), DEFAULT_WORKDIR_LIMITS)).rejects.toThrow(/not a valid tar.gz archive/);
  });
});
