import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createS3Client } from '../core/aws/s3-client.ts';
import { startLocalPlatform } from '../local/platform.ts';
import { RunplaneClient } from '../cli/api-client.ts';
import { packWorkdir, uploadWorkdir } from '../cli/workdir-archive.ts';
import { downloadArtifacts } from '../cli/commands/download.ts';

const seconds = (ms: number) => Math.round(ms) / 1000;
const time = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const result = await fn();
  return [result, performance.now() - t];
};

/**
 * Work in and out against raw S3 on the same emulator (fauxqs), as ratios:
 * - a `workdirMiB` directory (incompressible files) packed and uploaded by the CLI, first and
 *   repeated (the repeat packs again, finds the archive stored and sends nothing), against one
 *   raw put of the same archive bytes (lib-storage, in parts: fauxqs takes 11 MiB per request);
 * - an `artifactMiB` artifact uploaded by the worker (the job's last line → final state: find,
 *   hash, upload in parts, record) and downloaded by the CLI (presigned GET, SHA-256 verified), against
 *   a raw multipart put and a raw get of the same bytes.
 */
export async function benchWorkInOut(options: { workdirMiB: number; artifactMiB: number }) {
  const scratch = await mkdtemp(join(tmpdir(), 'rp-bench-files-'));
  const platform = await startLocalPlatform({ inMemory: true, port: 0, dataDir: join(scratch, 'data'), workers: 1, log: () => undefined });
  try {
    const client = new RunplaneClient({ baseUrl: platform.url, token: platform.adminKey });
    const s3 = createS3Client({ endpoint: platform.config.endpoints.s3!, region: platform.config.region });
    const bucket = platform.config.artifactsBucket!;
    const rawPut = (key: string, body: Buffer) =>
      new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: body }, partSize: 5 * 1024 * 1024, queueSize: 4 }).done();
    const rawGet = async (key: string, file: string) => {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      await pipeline(out.Body as Readable, createWriteStream(file));
    };

    // Work directory: 1 MiB files, random so that gzip cannot shrink them.
    const dir = join(scratch, 'project');
    await mkdir(dir);
    for (let i = 0; i < options.workdirMiB; i++) await writeFile(join(dir, `shard-${String(i).padStart(3, '0')}.bin`), randomBytes(1024 * 1024));
    // What `runplane submit --workdir` does before it submits.
    const packAndUpload = async () => {
      const packed = await packWorkdir(dir);
      try {
        return await uploadWorkdir(client, packed);
      } finally {
        await packed.dispose();
      }
    };
    const [first, firstMs] = await time(packAndUpload);
    const [repeat, repeatMs] = await time(packAndUpload);
    const archiveBytes = await (async () => {
      const packed = await packWorkdir(dir);
      const bytes = await readFile(packed.file);
      await packed.dispose();
      return bytes;
    })();
    const [, rawWorkdirMs] = await time(() => rawPut('bench/raw-workdir.tar.gz', archiveBytes));

    // Artifact: written by the job itself, so the worker's upload is of a real job's file.
    const bytes = options.artifactMiB * 1024 * 1024;
    // The line printed last is timestamped when the worker reads it: the process's end, near enough.
    const job = await client.submitJob({ command: ['sh', '-c', `head -c ${bytes} /dev/urandom > big.bin && echo written`], artifacts: ['big.bin'] });
    let done = await client.getJob(job.id);
    while (!['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(done.state)) {
      await new Promise((r) => setTimeout(r, 50));
      done = await client.getJob(job.id);
    }
    if (done.state !== 'SUCCEEDED') throw new Error(`artifact job ${done.state}: ${done.reason ?? ''}`);
    const events = await client.listEvents(job.id, { limit: 1000 });
    const written = events.events.find((e) => e.kind === 'output');
    const workerUploadMs = new Date(done.finishedAt!).getTime() - new Date(written!.ts).getTime();
    const [, downloadMs] = await time(() => downloadArtifacts(client, job.id, ['big.bin'], { outDir: join(scratch, 'download') }));
    const artifact = await readFile(join(scratch, 'download', 'big.bin'));
    const [, rawPutMs] = await time(() => rawPut('bench/raw-artifact.bin', artifact));
    const [, rawGetMs] = await time(() => rawGet('bench/raw-artifact.bin', join(scratch, 'raw-artifact.bin')));

    return {
      workdir: {
        mebibytes: options.workdirMiB,
        archiveBytes: archiveBytes.length,
        firstSeconds: seconds(firstMs),
        firstUploaded: first.uploaded,
        repeatSeconds: seconds(repeatMs),
        repeatUploaded: repeat.uploaded,
        rawPutSeconds: seconds(rawWorkdirMs),
        firstToRawRatio: Math.round((firstMs / rawWorkdirMs) * 100) / 100,
        repeatToRawRatio: Math.round((repeatMs / rawWorkdirMs) * 100) / 100,
      },
      artifact: {
        mebibytes: options.artifactMiB,
        workerUploadSeconds: seconds(workerUploadMs),
        cliDownloadSeconds: seconds(downloadMs),
        rawPutSeconds: seconds(rawPutMs),
        rawGetSeconds: seconds(rawGetMs),
        uploadToRawRatio: Math.round((workerUploadMs / rawPutMs) * 100) / 100,
        downloadToRawRatio: Math.round((downloadMs / rawGetMs) * 100) / 100,
        roundTripToRawRatio: Math.round(((workerUploadMs + downloadMs) / (rawPutMs + rawGetMs)) * 100) / 100,
      },
    };
  } finally {
    await platform.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}
