/**
 * `runplane download <id> [path...] [--attempt N] [-o DIR]`: fetch artifacts, verify their
 * SHA-256, and write them under DIR by their paths. Output: one line per file; `--json`: the list.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isSafeRelativePath } from '../../core/artifact.ts';
import type { Command } from 'commander';
import type { ArtifactInfo, RunplaneClient } from '../api-client.ts';
import type { RegisterCommand } from '../command-context.ts';
import { parsePositiveInt } from '../options.ts';

export const registerDownload: RegisterCommand = (command, context) => {
  const { io, output } = context;
  command
    .argument('<id>', 'job id')
    .argument('[paths...]', 'artifact paths (default: all of the attempt)')
    .option('--attempt <n>', 'the attempt (default: the latest)', parsePositiveInt)
    .option('-o, --output <dir>', 'where to write the files (default: the current directory)')
    .action(async (id: string, paths: string[], options: { attempt?: number; output?: string }, cmd: Command) => {
      const { client, json } = await context.connect(cmd);
      const files = await downloadArtifacts(client, id, paths, {
        ...(options.attempt !== undefined ? { attempt: options.attempt } : {}),
        ...(options.output !== undefined ? { outDir: options.output } : {}),
        progress: io.stderr as NodeJS.WriteStream,
        // Presigned transfers go straight to S3 with fetch; tests inject theirs through io.fetch.
        ...(io.fetch ? { fetch: io.fetch as unknown as typeof fetch } : {}),
      });
      if (json) await output.printJson({ files });
      else for (const f of files) await output.out(`${f.file}  ${f.size} bytes  sha256 ${f.sha256} verified\n`);
    });
};

/** A downloaded file does not match its record (size or SHA-256), or cannot be fetched. */
export class DownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DownloadError';
  }
}

export interface DownloadOptions {
  readonly attempt?: number;
  /** Where files go, under their artifact paths (default: the current directory). */
  readonly outDir?: string;
  /** Progress output (a TTY gets a bar for files of 8 MiB and more). */
  readonly progress?: NodeJS.WriteStream | undefined;
  readonly fetch?: typeof fetch;
}

/** Every artifact of one attempt, following the pages. */
export async function listAllArtifacts(client: RunplaneClient, jobId: string, attempt?: number): Promise<ArtifactInfo[]> {
  const all: ArtifactInfo[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listArtifacts(jobId, { ...(attempt !== undefined ? { attempt } : {}), limit: 1000, ...(cursor ? { cursor } : {}) });
    all.push(...page.artifacts);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all;
}

/**
 * `runplane download ID [PATH...]`: each artifact (all of the attempt's when no path is named) is
 * fetched from its short-lived URL into `<outDir>/<path>.part` while its SHA-256 is computed, and
 * renamed into place only if size and hash match the record: a file that is there is complete.
 */
export async function downloadArtifacts(
  client: RunplaneClient,
  jobId: string,
  paths: readonly string[],
  options: DownloadOptions = {},
): Promise<{ path: string; file: string; size: number; sha256: string }[]> {
  const outDir = resolve(options.outDir ?? '.');
  const wanted = paths.length > 0 ? [...paths] : (await listAllArtifacts(client, jobId, options.attempt)).map((a) => a.path);
  const done: { path: string; file: string; size: number; sha256: string }[] = [];
  for (const path of wanted) {
    const download = await client.artifactDownload(jobId, path, options.attempt);
    // The path comes from the server; it still may not write outside the output directory.
    if (!isSafeRelativePath(download.path)) throw new DownloadError(`refusing artifact path ${JSON.stringify(download.path)}`);
    const file = join(outDir, ...download.path.split('/'));
    if (!file.startsWith(outDir + sep)) throw new DownloadError(`refusing artifact path ${JSON.stringify(download.path)}`);
    await mkdir(dirname(file), { recursive: true });
    const partial = `${file}.part`;
    const body = await openDownload(download.url, options.fetch);
    if (body.status !== 200) {
      body.stream.resume();
      throw new DownloadError(`${download.path}: the download URL answered HTTP ${body.status}`);
    }
    const hash = createHash('sha256');
    let received = 0;
    const bar = progressBar(options.progress, download.path, download.size);
    const counting = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        received += chunk.length;
        bar?.(received);
        callback(null, chunk);
      },
    });
    try {
      await pipeline(body.stream, counting, createWriteStream(partial));
      bar?.(received, true);
      const sha256 = hash.digest('hex');
      if (received !== download.size || sha256 !== download.sha256) {
        throw new DownloadError(
          `${download.path}: received ${received} bytes with SHA-256 ${sha256}, expected ${download.size} bytes with ${download.sha256}`,
        );
      }
      await rename(partial, file);
      done.push({ path: download.path, file, size: received, sha256 });
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
  }
  return done;
}

/**
 * The body of a GET as a Node stream. Plain http(s) by default: a web stream converted to a Node
 * stream costs several times the transfer itself on large files (bench/work-in-out.ts); an
 * injected `fetch` (tests) is used as it is.
 */
async function openDownload(url: string, injected: typeof fetch | undefined): Promise<{ status: number; stream: Readable }> {
  if (injected) {
    const response = await injected(url);
    return { status: response.status, stream: response.body ? Readable.fromWeb(response.body as never) : Readable.from([]) };
  }
  const get = url.startsWith('https:') ? httpsGet : httpGet;
  return new Promise((resolveResponse, reject) => {
    get(url, (response) => resolveResponse({ status: response.statusCode ?? 0, stream: response })).on('error', reject);
  });
}

const BAR_MIN_BYTES = 8 * 1024 * 1024;

/** `name [#####.....]  45%  90.0/200.0 MiB` redrawn in place on a TTY; nothing otherwise. */
function progressBar(out: NodeJS.WriteStream | undefined, name: string, total: number) {
  if (!out?.isTTY || total < BAR_MIN_BYTES) return undefined;
  let lastDrawn = -1;
  const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
  return (received: number, final = false) => {
    const percent = Math.floor((received / total) * 100);
    if (percent === lastDrawn && !final) return;
    lastDrawn = percent;
    const filled = Math.round(percent / 5);
    out.write(`\r${name} [${'#'.repeat(filled)}${'.'.repeat(20 - filled)}] ${String(percent).padStart(3)}%  ${mib(received)}/${mib(total)} MiB`);
    if (final) out.write('\n');
  };
}
