import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const run = promisify(execFile);

/** The image container tests run: busybox plus a fake nvidia-smi, imported locally (no registry). */
export const TEST_IMAGE = 'runplane-test/busybox:1';

/** Four GPUs as the worker's GPU detection reads them (nvidia-smi --query-gpu ... --format=csv,noheader,nounits). */
export const FAKE_NVIDIA_SMI = `#!/bin/sh
echo "0, GPU-00000000-0000-0000-0000-000000000000, NVIDIA A10G, 23028, 0, 0"
echo "1, GPU-11111111-1111-1111-1111-111111111111, NVIDIA A10G, 23028, 0, 0"
echo "2, GPU-22222222-2222-2222-2222-222222222222, NVIDIA A10G, 23028, 0, 0"
echo "3, GPU-33333333-3333-3333-3333-333333333333, NVIDIA A10G, 23028, 0, 0"
`;

/**
 * The Docker Engine, or undefined outside CI when there is none (the caller then says loudly that
 * its tests did not run). In CI (CI=true) a missing engine fails the tests: .ci/run installs one.
 */
export async function dockerForTests(): Promise<Docker | undefined> {
  const docker = new Docker();
  try {
    await docker.ping();
    return docker;
  } catch (err) {
    if (process.env.CI) throw new Error(`CI needs a Docker Engine for the container tests (.ci/run starts one): ${String(err)}`, { cause: err });
    console.warn(`\n!!! CONTAINER TESTS DID NOT RUN: no Docker Engine answers (${String(err)}) !!!\n`);
    return undefined;
  }
}

/** Imports the test image from the host's busybox (busybox-static) unless it is there already. */
export async function ensureTestImage(docker: Docker): Promise<string> {
  const present = await docker.getImage(TEST_IMAGE).inspect().then(() => true, () => false);
  if (present) return TEST_IMAGE;
  const root = await mkdtemp(join(tmpdir(), 'runplane-image-'));
  try {
    const bin = join(root, 'bin');
    await mkdir(bin, { recursive: true });
    await mkdir(join(root, 'tmp'), { mode: 0o1777 });
    await copyFile('/bin/busybox', join(bin, 'busybox'));
    await chmod(join(bin, 'busybox'), 0o755);
    const { stdout } = await run('/bin/busybox', ['--list']);
    for (const applet of stdout.split('\n').filter((a) => a && a !== 'busybox')) await symlink('busybox', join(bin, applet)).catch(() => undefined);
    await writeFile(join(bin, 'nvidia-smi'), FAKE_NVIDIA_SMI, { mode: 0o755 });
    await run('sh', ['-c', `tar -C "${root}" -c . | docker import --change 'ENV PATH=/bin' - ${TEST_IMAGE}`]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return TEST_IMAGE;
}

/** A directory holding the fake nvidia-smi, to put first on the worker's PATH. */
export async function fakeNvidiaSmiDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'runplane-fake-gpus-'));
  await writeFile(join(dir, 'nvidia-smi'), FAKE_NVIDIA_SMI, { mode: 0o755 });
  return dir;
}
