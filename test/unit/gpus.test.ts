import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  GpuAllocator,
  NVIDIA_SMI_ARGS,
  NvidiaSmiParseError,
  cudaVisibleDevices,
  detectGpus,
  parseNvidiaSmiCsv,
  type Gpu,
} from '../../core/worker/gpus.ts';

const fixture = (name: string) => readFile(new URL(`../fixtures/nvidia-smi/${name}`, import.meta.url), 'utf8');

describe('parseNvidiaSmiCsv', () => {
  it('parses a single A10G (g5.xlarge)', async () => {
    expect(parseNvidiaSmiCsv(await fixture('a10g-single.csv'))).toEqual<Gpu[]>([
      {
        index: 0,
        uuid: 'GPU-9c3ed7a1-5e2b-8f41-07d6-2ba4c81f3e95',
        name: 'NVIDIA A10G',
        memoryTotalMiB: 23028,
        memoryUsedMiB: 0,
        utilizationPercent: 0,
      },
    ]);
  });

  it('parses eight H100s with their load', async () => {
    const gpus = parseNvidiaSmiCsv(await fixture('h100-8x.csv'));
    expect(gpus.map((g) => g.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(gpus.map((g) => g.uuid)).size).toBe(8);
    expect(gpus.every((g) => g.name === 'NVIDIA H100 80GB HBM3' && g.memoryTotalMiB === 81559)).toBe(true);
    expect(gpus[0]).toMatchObject({ memoryUsedMiB: 74213, utilizationPercent: 97 });
    expect(gpus[7]).toMatchObject({ memoryUsedMiB: 1, utilizationPercent: 0 });
  });

  it('reports utilization as null when MIG mode hides it', async () => {
    const gpus = parseNvidiaSmiCsv(await fixture('a100-mig.csv'));
    expect(gpus.map((g) => [g.name, g.memoryUsedMiB, g.utilizationPercent])).toEqual([
      ['NVIDIA A100-SXM4-40GB', 37, null],
      ['NVIDIA A100-SXM4-40GB', 0, 0],
    ]);
  });

  it('maps [Not Supported] and [N/A] to null utilization and 0 MiB, with CRLF line endings', async () => {
    const gpus = parseNvidiaSmiCsv(await fixture('t4-not-supported.csv'));
    expect(gpus).toEqual([
      expect.objectContaining({ index: 0, name: 'Tesla T4', memoryTotalMiB: 15360, memoryUsedMiB: 0, utilizationPercent: null }),
      expect.objectContaining({ index: 1, name: 'Tesla T4', memoryTotalMiB: 0, memoryUsedMiB: 0, utilizationPercent: 12 }),
    ]);
  });

  it.each([
    ['empty output', 'empty.csv'],
    ['"No devices were found"', 'no-devices.txt'],
  ])('gives no GPUs for %s', async (_case, file) => {
    expect(parseNvidiaSmiCsv(await fixture(file))).toEqual([]);
  });

  it('keeps a product name that contains a comma whole', () => {
    const [gpu] = parseNvidiaSmiCsv('3, GPU-x, Acme Accelerator, Rev B, 1024, 10, 50\n');
    expect(gpu).toMatchObject({ index: 3, uuid: 'GPU-x', name: 'Acme Accelerator, Rev B', memoryTotalMiB: 1024 });
  });

  it.each([
    ['too few columns', '0, GPU-x, NVIDIA A10G'],
    ['a non-integer index', 'x, GPU-x, NVIDIA A10G, 23028, 0, 0'],
    ['a non-numeric memory value', '0, GPU-x, NVIDIA A10G, lots, 0, 0'],
    ['a missing uuid', '0, [N/A], NVIDIA A10G, 23028, 0, 0'],
    ['a driver error message', 'NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver.'],
  ])('rejects %s', (_case, line) => {
    expect(() => parseNvidiaSmiCsv(line)).toThrow(NvidiaSmiParseError);
  });
});

describe('detectGpus', () => {
  it('runs nvidia-smi with the query the parser reads', async () => {
    const exec = vi.fn(async () => ({ stdout: await fixture('a10g-single.csv') }));
    const gpus = await detectGpus(exec);
    expect(exec).toHaveBeenCalledWith('nvidia-smi', NVIDIA_SMI_ARGS);
    expect(NVIDIA_SMI_ARGS).toEqual([
      '--query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu',
      '--format=csv,noheader,nounits',
    ]);
    expect(gpus).toHaveLength(1);
  });

  it('gives [] silently when nvidia-smi is not installed', async () => {
    const warn = vi.fn();
    const enoent = Object.assign(new Error('spawn nvidia-smi ENOENT'), { code: 'ENOENT' });
    expect(await detectGpus(() => Promise.reject(enoent), { warn })).toEqual([]);
    expect(warn).not.toHaveBeenCalled();
  });

  it('gives [] with a warning when nvidia-smi fails or prints something unexpected', async () => {
    const warn = vi.fn();
    const exit9 = Object.assign(new Error('Command failed: nvidia-smi'), { code: 9 });
    expect(await detectGpus(() => Promise.reject(exit9), { warn })).toEqual([]);
    expect(await detectGpus(async () => ({ stdout: 'Failed to initialize NVML: Driver/library version mismatch' }), { warn })).toEqual([]);
    expect(warn).toHaveBeenCalledTimes(2);
  });

  // The default executor, against fake nvidia-smi programs on PATH: real exit codes, real ENOENT.
  describe('with the real process runner', () => {
    let dir: string;
    const originalPath = process.env.PATH;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'nvidia-smi-'));
    });
    afterAll(async () => {
      process.env.PATH = originalPath;
      await rm(dir, { recursive: true, force: true });
    });
    const fakeNvidiaSmi = async (script: string) => {
      const bin = await mkdtemp(join(dir, 'bin-'));
      await writeFile(join(bin, 'nvidia-smi'), `#!/bin/sh\n${script}\n`);
      await chmod(join(bin, 'nvidia-smi'), 0o755);
      process.env.PATH = `${bin}:${originalPath}`;
    };

    it('parses what the program prints', async () => {
      const csv = join(dir, 'h100.csv');
      await writeFile(csv, await fixture('h100-8x.csv'));
      await fakeNvidiaSmi(`cat "${csv}"`);
      expect((await detectGpus()).map((g) => g.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    });

    it('treats "No devices were found" with exit status 6 as no GPUs, without a warning', async () => {
      await fakeNvidiaSmi('echo "No devices were found"; exit 6');
      const warn = vi.fn();
      expect(await detectGpus(undefined, { warn })).toEqual([]);
      expect(warn).not.toHaveBeenCalled();
    });

    it('warns when the driver is broken (exit status 9)', async () => {
      await fakeNvidiaSmi('echo "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver."; exit 9');
      const warn = vi.fn();
      expect(await detectGpus(undefined, { warn })).toEqual([]);
      expect(warn).toHaveBeenCalledOnce();
    });

    it('treats a missing program as no GPUs', async () => {
      process.env.PATH = dir; // holds only bin-* folders, never a nvidia-smi
      const warn = vi.fn();
      expect(await detectGpus(undefined, { warn })).toEqual([]);
      expect(warn).not.toHaveBeenCalled();
    });
  });
});

describe('GpuAllocator', () => {
  it('hands each job its own GPUs, lowest first, and refuses when too few are free', () => {
    const gpus = new GpuAllocator([3, 0, 2, 1]);
    expect(gpus.total).toBe(4);
    expect(gpus.allocate(2)).toEqual([0, 1]);
    expect(gpus.allocate(3)).toBeNull();
    expect(gpus.available).toBe(2);
    expect(gpus.allocate(1)).toEqual([2]);
    gpus.release([0, 1]);
    expect(gpus.allocate(3)).toEqual([0, 1, 3]);
    expect(gpus.available).toBe(0);
    expect(gpus.allocate(0)).toEqual([]);
    expect(gpus.allocate(1)).toBeNull();
  });

  it('runs as many single-GPU jobs as there are GPUs', async () => {
    const gpus = GpuAllocator.fromGpus(parseNvidiaSmiCsv(await fixture('h100-8x.csv')));
    const jobs = Array.from({ length: 9 }, () => gpus.allocate(1));
    expect(jobs.filter((j) => j !== null)).toHaveLength(8);
    expect(jobs[8]).toBeNull();
    expect(new Set(jobs.flat()).size).toBe(9); // 8 distinct indices plus the null
  });

  it('gives a GPU-less worker zero-GPU jobs only', () => {
    const gpus = GpuAllocator.fromGpus([]);
    expect(gpus.allocate(0)).toEqual([]);
    expect(gpus.allocate(1)).toBeNull();
  });

  it.each([
    ['a GPU that is not allocated', [0], 'not allocated'],
    ['a GPU the worker does not have', [9], 'does not belong'],
  ])('throws when releasing %s', (_case, indices, message) => {
    const gpus = new GpuAllocator([0, 1]);
    expect(() => gpus.release(indices)).toThrow(message);
  });

  it.each([-1, 1.5, Number.NaN])('rejects a GPU count of %s', (count) => {
    expect(() => new GpuAllocator([0]).allocate(count)).toThrow(RangeError);
  });
});

describe('cudaVisibleDevices', () => {
  it.each([
    [[0], '0'],
    [[2, 3], '2,3'],
    [[], ''],
  ])('pins %j as "%s"', (indices, expected) => {
    expect(cudaVisibleDevices(indices)).toBe(expected);
  });
});
