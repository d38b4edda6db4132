import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiDependencies } from '../../core/app/api-dependencies.ts';
import { createJobQueue } from '../../core/app/dispatch-dependencies.ts';
import { createJobFilesParts } from '../../core/app/job-files-dependencies.ts';
import { createWorkerDependencies } from '../../core/app/worker-dependencies.ts';
import { bootstrapAdminKey } from '../../core/auth/bootstrap-admin-key.ts';
import { DynamoDbApiKeyStore } from '../../core/auth/dynamodb-api-key-store.ts';
import { createS3Client } from '../../core/aws/s3-client.ts';
import type { RuntimeConfig } from '../../core/config.ts';
import { isTerminal } from '../../core/jobs/job.ts';
import { archiveObjectKey } from '../../core/archive-id.ts';
import { Worker } from '../../core/worker/worker.ts';
import { createHandlers } from '../../lambdas/handlers.ts';
import { ROUTES } from '../../lambdas/routes.ts';
import { startLocalApiServer, type LocalApiServer } from '../../local/http-server.ts';
import { ApiError, RunplaneClient, type ApiJob } from '../../cli/api-client.ts';
import { packWorkdir, uploadWorkdir } from '../../cli/workdir-archive.ts';
import { downloadArtifacts } from '../../cli/commands/download.ts';
import { runCli } from '../../cli/main.ts';
import { Writable } from 'node:stream';
import { createTestEnvironment, runtimeConfigFor, type TestEnvironment } from '../support/emulators.ts';

/**
 * Work in (`--workdir`) and results out (artifacts) end to end on the real emulators: the API
 * handlers over HTTP, a worker polling fauxqs, S3 on fauxqs, records in DynamoDB Local, and the
 * CLI's own packing, upload and download code.
 */
describe('work directories and artifacts', () => {
  let env: TestEnvironment;
  let config: RuntimeConfig;
  let server: LocalApiServer;
  let worker: Worker;
  let ml: RunplaneClient;
  let vision: RunplaneClient;
  let scratch: string;
  const puts: string[] = [];
  // Counts the PUTs the CLI sends to presigned URLs, so "nothing uploaded" is observed, not assumed.
  const countingFetch: typeof fetch = (input, init) => {
    if (init?.method === 'PUT') puts.push(String(input));
    return fetch(input, init);
  };

  beforeAll(async () => {
    env = await createTestEnvironment();
    config = { ...runtimeConfigFor(env), workdirLimits: { maxArchiveBytes: 64 * 1024 * 1024, maxFiles: 1000, maxUnpackedBytes: 256 * 1024 * 1024 } };
    const deps = createApiDependencies(config, {
      queue: createJobQueue(config),
      jobFiles: createJobFilesParts,
      artifactUrlSeconds: 2,
      log: () => undefined,
    });
    server = await startLocalApiServer({ routes: ROUTES, handlers: createHandlers(async () => deps), log: () => undefined });
    let stored: string | undefined;
    await bootstrapAdminKey({
      store: new DynamoDbApiKeyStore({ client: env.documentClient, tableName: config.tables.jobs }),
      secret: { read: async () => stored, write: async (v) => void (stored = v) },
    });
    const admin = new RunplaneClient({ baseUrl: server.url, token: stored! });
    const keyFor = async (group: string) => (await admin.createApiKey({ name: group, role: 'member', groups: [group] })).key;
    ml = new RunplaneClient({ baseUrl: server.url, token: await keyFor('ml') });
    vision = new RunplaneClient({ baseUrl: server.url, token: await keyFor('vision') });
    scratch = await mkdtemp(join(tmpdir(), 'rp-work-'));
    worker = new Worker({
      ...createWorkerDependencies(config),
      pool: 'default',
      concurrency: 2,
      leaseSeconds: 20,
      heartbeatSeconds: 0.5,
      pollWaitSeconds: 1,
      flushIntervalMs: 20,
      workRoot: join(scratch, 'work'),
    });
    worker.start();
  }, 60_000);

  afterAll(async () => {
    await worker?.stop({ drainSeconds: 0 });
    await server?.close();
    await env?.cleanup();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  async function finished(client: RunplaneClient, id: string): Promise<ApiJob> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const job = await client.getJob(id);
      if (isTerminal(job.state)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${job.state}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

  async function project(): Promise<string> {
    const dir = await mkdtemp(join(scratch, 'project-'));
    await writeFile(join(dir, '.gitignore'), 'secret.txt\n');
    await writeFile(join(dir, 'secret.txt'), 'do not ship');
    await mkdir(join(dir, '.git'));
    await writeFile(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'data', 'input.txt'), 'input data\n');
    // Lists what the job sees, then writes its results: two artifacts, one file that no pattern
    // names, and symlinks out of the work directory that must never be followed.
    await writeFile(
      join(dir, 'train.sh'),
      [
        '#!/bin/sh',
        'set -e',
        'echo "files: $(find . -path ./out -prune -o -print | LC_ALL=C sort | tr "\\n" " ")"',
        'mkdir -p out/nested',
        'cat data/input.txt > out/nested/model.bin',
        'printf \'{"loss":0.25}\' > metrics.json',
        'echo scratch > notes.txt',
        'ln -s /etc/passwd out/passwd',
        'ln -s /etc out/etc',
        '',
      ].join('\n'),
    );
    await chmod(join(dir, 'train.sh'), 0o755);
    return dir;
  }

  it('runs ./train.sh from a packed directory, without ignored files, and stores its artifacts', async () => {
    const dir = await project();
    const packed = await packWorkdir(dir);
    const first = await uploadWorkdir(ml, packed, { fetch: countingFetch });
    expect(first.uploaded).toBe(true);
    expect(puts).toHaveLength(1);

    // The same tree again: same archive, and not one byte sent.
    const again = await packWorkdir(dir);
    expect(again.sha256).toBe(packed.sha256);
    const second = await uploadWorkdir(ml, again, { fetch: countingFetch });
    expect(second).toEqual({ archive: first.archive, uploaded: false });
    expect(puts).toHaveLength(1);
    await Promise.all([packed.dispose(), again.dispose()]);

    const job = await ml.submitJob({ command: ['./train.sh'], workdir: { archive: first.archive }, artifacts: ['out/**', 'metrics.json'] });
    expect(job.workdir).toEqual({ archive: first.archive });
    const done = await finished(ml, job.id);
    expect(done).toMatchObject({ state: 'SUCCEEDED', reason: 'exited with code 0' });
    const logs = (await ml.getLogs(job.id)).bytes.toString('utf8');
    expect(logs).toContain('files: . ./.gitignore ./data ./data/input.txt ./train.sh \n');
    expect(logs).not.toContain('secret.txt ');
    expect(logs).not.toContain('.git/');

    // Listed as soon as the job is finished, symlinks left out.
    const { artifacts, nextCursor } = await ml.listArtifacts(job.id);
    expect(nextCursor).toBeNull();
    expect(artifacts.map((a) => [a.path, a.size, a.sha256, a.attempt])).toEqual([
      ['metrics.json', 13, sha256('{"loss":0.25}'), 1],
      ['out/nested/model.bin', 11, sha256('input data\n'), 1],
    ]);

    const out = join(scratch, 'download');
    const files = await downloadArtifacts(ml, job.id, [], { outDir: out });
    expect(files.map((f) => f.path)).toEqual(['metrics.json', 'out/nested/model.bin']);
    expect(await readFile(join(out, 'out', 'nested', 'model.bin'), 'utf8')).toBe('input data\n');
    expect(await readFile(join(out, 'metrics.json'), 'utf8')).toBe('{"loss":0.25}');

    // Another group sees neither the job's files nor that they exist.
    // One at a time: a second request started early would reject before anything awaits it.
    for (const attempt of [() => vision.listArtifacts(job.id), () => vision.artifactDownload(job.id, 'metrics.json')]) {
      await expect(attempt()).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND' });
    }
    await expect(ml.artifactDownload(job.id, 'notes.txt')).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND' });
    // Another group cannot run this group's code by naming its hash.
    await expect(vision.submitJob({ command: ['./train.sh'], workdir: { archive: first.archive } })).rejects.toMatchObject({
      status: 400,
      details: { fields: [expect.objectContaining({ path: 'workdir.archive' })] },
    });
  }, 120_000);

  it('runplane submit --workdir --artifact, runplane artifacts and runplane download', async () => {
    const token = (ml as unknown as { token: string }).token;
    const cli = async (args: string[]) => {
      let stdout = '';
      let stderr = '';
      const sink = (append: (s: string) => void) =>
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            append(chunk.toString());
            done();
          },
        });
      const code = await runCli(args, {
        stdout: sink((t) => (stdout += t)),
        stderr: sink((t) => (stderr += t)),
        env: { RUNPLANE_URL: server.url, RUNPLANE_TOKEN: token },
        fetch: countingFetch,
      });
      return { code, stdout, stderr };
    };
    const dir = await project();
    // Unlike the first test's tree, so that this archive is new to the group.
    await writeFile(join(dir, 'data', 'cli.txt'), 'from the CLI test');
    const before = puts.length;
    const submit = await cli(['submit', '--workdir', dir, '--artifact', 'out/**', '--artifact', 'metrics.json', '--wait', '--', './train.sh']);
    expect(submit, submit.stderr).toMatchObject({ code: 0 });
    const id = submit.stdout.trim().split('\n')[0]!;
    expect(puts.length - before).toBe(1);
    const again = await cli(['submit', '--workdir', dir, '--', './train.sh']);
    expect(again.code).toBe(0);
    expect(puts.length - before).toBe(1);

    const table = await cli(['artifacts', id]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^PATH\s+SIZE\s+SHA256\s+ATTEMPT\s+CREATED\n/);
    expect(table.stdout).toMatch(new RegExp(`\\nmetrics\\.json +13 B +${sha256('{"loss":0.25}').slice(0, 12)} +1 `));
    const out = join(scratch, 'cli-download');
    const download = await cli(['download', id, 'metrics.json', '-o', out]);
    expect(download, download.stderr).toMatchObject({ code: 0 });
    expect(download.stdout).toContain(`sha256 ${sha256('{"loss":0.25}')} verified`);
    expect(await readFile(join(out, 'metrics.json'), 'utf8')).toBe('{"loss":0.25}');
    expect((await cli(['download', id, 'nope.txt', '-o', out])).code).toBe(1);
  }, 120_000);

  it('answers an artifact with a 302 to a presigned GET that is valid only as long as configured', async () => {
    const job = await ml.submitJob({ command: ['sh', '-c', 'echo hello > result.txt'], artifacts: ['result.txt'] });
    await finished(ml, job.id);
    const res = await fetch(`${server.url}/v1/jobs/${job.id}/artifacts/result.txt`, {
      headers: { authorization: `Bearer ${(ml as unknown as { token: string }).token}` },
      redirect: 'manual',
    });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(res.headers.get('x-runplane-sha256')).toBe(sha256('hello\n'));
    // The test deployment signs for 2 s; the signature covers the expiry, so it cannot be stretched.
    expect(location.searchParams.get('X-Amz-Expires')).toBe('2');
    expect(location.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
    const signedAt = location.searchParams.get('X-Amz-Date')!;
    const signedMs = Date.UTC(+signedAt.slice(0, 4), +signedAt.slice(4, 6) - 1, +signedAt.slice(6, 8), +signedAt.slice(9, 11), +signedAt.slice(11, 13), +signedAt.slice(13, 15));
    expect(Math.abs(signedMs - Date.now())).toBeLessThan(60_000);
    expect(await (await fetch(location)).text()).toBe('hello\n');
    // Once its 2 s have passed the link is refused as S3 refuses it (the local S3 enforces expiry).
    await new Promise((r) => setTimeout(r, Math.max(0, signedMs + 3_000 - Date.now())));
    const expired = await fetch(location);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('Request has expired');
    // Whatever is configured, a link is signed for at most 15 minutes.
    const { ArtifactService, MAX_DOWNLOAD_URL_SECONDS } = await import('../../core/artifacts/artifact-service.ts');
    expect(new ArtifactService({ jobs: ml as never, store: {} as never, objects: {} as never, urlExpirySeconds: 7 * 24 * 3600 }).urlExpirySeconds).toBe(
      MAX_DOWNLOAD_URL_SECONDS,
    );
  }, 60_000);

  it('ends the attempt with a clear reason when the archive is not a tar.gz, or is not what its name says', async () => {
    const garbage = randomBytes(4096);
    const declared = await ml.createUpload({ sha256: sha256(garbage), size: garbage.length, files: 1 });
    if (declared.exists || declared.upload.kind !== 'put') throw new Error('expected a single PUT');
    expect((await fetch(declared.upload.url, { method: 'PUT', body: garbage, headers: declared.upload.headers })).status).toBe(200);
    const corrupt = await ml.submitJob({ command: ['true'], workdir: { archive: declared.archive } });
    expect(await finished(ml, corrupt.id)).toMatchObject({
      state: 'FAILED',
      reason: expect.stringMatching(new RegExp(`^could not start: work directory archive ${declared.archive} is corrupt or refused: not a valid tar\\.gz archive`)),
    });

    // Bytes swapped under a valid name (written straight to S3): the worker's own hash check catches it.
    const real = await packWorkdir(await project());
    const { archive } = await uploadWorkdir(ml, real);
    await createS3Client({ endpoint: env.s3Endpoint }).send(
      new PutObjectCommand({ Bucket: env.bucket, Key: archiveObjectKey('ml', real.sha256), Body: garbage }),
    );
    await real.dispose();
    const swapped = await ml.submitJob({ command: ['./train.sh'], workdir: { archive } });
    expect(await finished(ml, swapped.id)).toMatchObject({
      state: 'FAILED',
      reason: `could not start: work directory archive ${archive} is corrupt: its content hashes to sha256:${sha256(garbage)}`,
    });
  }, 120_000);

  it('refuses an archive that does not exist (400) and one over the limits (413) before any upload', async () => {
    const missing = `sha256:${'0'.repeat(64)}`;
    await expect(ml.submitJob({ command: ['true'], workdir: { archive: missing } })).rejects.toMatchObject({
      status: 400,
      code: 'INVALID_ARGUMENT',
      details: { fields: [{ path: 'workdir.archive', message: expect.stringContaining('upload it first') }] },
    });
    const tooBig = ml.createUpload({ sha256: 'a'.repeat(64), size: 65 * 1024 * 1024, files: 1 });
    await expect(tooBig).rejects.toBeInstanceOf(ApiError);
    await expect(tooBig).rejects.toMatchObject({ status: 413, code: 'UPLOAD_TOO_LARGE', details: { maxArchiveBytes: 64 * 1024 * 1024 } });
    await expect(ml.createUpload({ sha256: 'a'.repeat(64), size: 10, files: 1001 })).rejects.toMatchObject({ status: 413, details: { maxFiles: 1000 } });
    // Another group's member may not upload into this group.
    await expect(vision.createUpload({ sha256: 'a'.repeat(64), size: 10, files: 1, group: 'ml' })).rejects.toMatchObject({ status: 403 });
  });

  it('uploads a large directory in parts and the job reads it back byte for byte', async () => {
    const dir = await mkdtemp(join(scratch, 'large-'));
    const blob = randomBytes(20 * 1024 * 1024);
    await writeFile(join(dir, 'weights.bin'), blob);
    await symlink('weights.bin', join(dir, 'alias.bin'));
    const packed = await packWorkdir(dir);
    const before = puts.length;
    const { archive, uploaded } = await uploadWorkdir(ml, packed, { fetch: countingFetch });
    await packed.dispose();
    expect(uploaded).toBe(true);
    expect(puts.length - before).toBe(3);
    const job = await ml.submitJob({ command: ['sha256sum', 'alias.bin'], workdir: { archive }, artifacts: ['*.bin'] });
    expect(await finished(ml, job.id)).toMatchObject({ state: 'SUCCEEDED' });
    expect((await ml.getLogs(job.id)).bytes.toString('utf8')).toBe(`${sha256(blob)}  alias.bin\n`);
    // The symlink is not an artifact; the file is, stored in parts by the worker and verified on download.
    expect((await ml.listArtifacts(job.id)).artifacts.map((a) => [a.path, a.sha256])).toEqual([['weights.bin', sha256(blob)]]);
    const [file] = await downloadArtifacts(ml, job.id, ['weights.bin'], { outDir: join(scratch, 'large-download') });
    expect(sha256(await readFile(file!.file))).toBe(sha256(blob));
  }, 180_000);

  it('reports artifacts that cannot be stored in the attempt reason, after retries', async () => {
    const broken = new Worker({
      ...createWorkerDependencies({ ...config, artifactsBucket: `${env.bucket}-missing` }),
      pool: 'default',
      leaseSeconds: 20,
      heartbeatSeconds: 0.5,
      pollWaitSeconds: 1,
      workRoot: join(scratch, 'broken'),
    });
    await worker.stop({ drainSeconds: 0 });
    broken.start();
    try {
      const job = await ml.submitJob({ command: ['sh', '-c', 'echo 1 > out.txt'], artifacts: ['out.txt'] });
      const done = await finished(ml, job.id);
      expect(done.state).toBe('FAILED');
      expect(done.reason).toMatch(/^exited with code 0; artifacts not stored: artifact out\.txt could not be stored after 3 tries: /);
    } finally {
      await broken.stop({ drainSeconds: 0 });
    }
  }, 120_000);
});
