import { execFile } from 'node:child_process';
import type { Gpu } from '../workers/registry.ts';

/**
 * GPU discovery and per-job GPU pinning for the worker.
 *
 * The worker asks `nvidia-smi` for one CSV line per GPU it can see (inside an ECS task that is the
 * GPUs ECS assigned to the container, renumbered from 0), hands each job its own GPUs through
 * `CUDA_VISIBLE_DEVICES`, and runs as many jobs at once as it has free GPUs. A machine without a
 * GPU or without the NVIDIA driver is not an error: it simply has no GPUs.
 */

// The GPU record is the registry's (workers report it); detection here produces it.
export type { Gpu };

/** The query the parser understands; the field order is the parser's column order. */
export const NVIDIA_SMI_QUERY_FIELDS = ['index', 'uuid', 'name', 'memory.total', 'memory.used', 'utilization.gpu'] as const;

export const NVIDIA_SMI_ARGS: readonly string[] = [
  `--query-gpu=${NVIDIA_SMI_QUERY_FIELDS.join(',')}`,
  '--format=csv,noheader,nounits',
];

/** What nvidia-smi prints (with exit status 6) on a machine whose driver sees no GPU. */
const NO_DEVICES = /^No devices were found/i;

export class NvidiaSmiParseError extends Error {
  constructor(readonly line: string, reason: string) {
    super(`cannot parse nvidia-smi line "${line}": ${reason}`);
    this.name = 'NvidiaSmiParseError';
  }
}

/** `[N/A]`, `[Not Supported]`, `[Unknown Error]`, ...: the driver's placeholders for a missing value. */
function isUnavailable(field: string): boolean {
  return /^\[.*\]$/.test(field) || field === 'N/A';
}

function parseNumber(line: string, column: string, field: string): number | null {
  if (isUnavailable(field)) return null;
  const value = Number(field);
  if (field === '' || !Number.isFinite(value) || value < 0) throw new NvidiaSmiParseError(line, `${column} "${field}" is not a number`);
  return value;
}

/**
 * Parses the output of `nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu
 * --format=csv,noheader,nounits`. Blank output and "No devices were found" give an empty list;
 * anything else that is not the expected six columns throws NvidiaSmiParseError, because silently
 * treating a GPU machine as a CPU machine would leave its GPUs idle.
 */
export function parseNvidiaSmiCsv(output: string): Gpu[] {
  const gpus: Gpu[] = [];
  for (const raw of output.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || NO_DEVICES.test(line)) continue;
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length < NVIDIA_SMI_QUERY_FIELDS.length) {
      throw new NvidiaSmiParseError(line, `expected ${NVIDIA_SMI_QUERY_FIELDS.length} columns, got ${fields.length}`);
    }
    // nvidia-smi does not quote CSV values; a product name is the only column that could hold a comma,
    // so the columns are read from both ends and the name is whatever lies between.
    const [indexField, uuid] = fields as [string, string];
    const [memoryTotal, memoryUsed, utilization] = fields.slice(-3) as [string, string, string];
    const name = fields.slice(2, -3).join(', ');
    if (!/^\d+$/.test(indexField)) throw new NvidiaSmiParseError(line, `index "${indexField}" is not an integer`);
    if (uuid === '' || isUnavailable(uuid)) throw new NvidiaSmiParseError(line, 'missing uuid');
    gpus.push({
      index: Number(indexField),
      uuid,
      name,
      memoryTotalMiB: parseNumber(line, 'memory.total', memoryTotal) ?? 0,
      memoryUsedMiB: parseNumber(line, 'memory.used', memoryUsed) ?? 0,
      utilizationPercent: parseNumber(line, 'utilization.gpu', utilization),
    });
  }
  return gpus;
}

export type ExecCommand = (command: string, args: readonly string[]) => Promise<{ stdout: string }>;

const NVIDIA_SMI_TIMEOUT_MS = 15_000;

const execNvidiaSmi: ExecCommand = (command, args) =>
  new Promise((resolve, reject) => {
    // A wedged driver can make nvidia-smi hang; the timeout turns that into "no GPUs" plus a warning.
    execFile(command, [...args], { timeout: NVIDIA_SMI_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout) => {
      // Keep what it printed: "No devices were found" comes with a non-zero exit status.
      if (err) reject(Object.assign(err, { stdout }));
      else resolve({ stdout });
    });
  });

export interface DetectGpusOptions {
  /** Where to report a GPU probe that failed for another reason than "nvidia-smi is not installed". */
  readonly warn?: (message: string) => void;
}

/** The ordinary "this machine has no GPU" outcomes, which deserve no warning. */
function isNoGpuMachine(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if ('code' in err && err.code === 'ENOENT') return true;
  return 'stdout' in err && typeof err.stdout === 'string' && NO_DEVICES.test(err.stdout.trim());
}

/**
 * The GPUs this process can use. No nvidia-smi (CPU image, laptop), "No devices were found" (exit
 * status 6), a failing driver or unparseable output all give `[]`: the worker then runs CPU jobs
 * only. The last two are reported through `warn`, since they usually mean a broken GPU host.
 */
export async function detectGpus(exec: ExecCommand = execNvidiaSmi, options: DetectGpusOptions = {}): Promise<Gpu[]> {
  const warn = options.warn ?? ((message: string) => console.warn(message));
  let stdout: string;
  try {
    ({ stdout } = await exec('nvidia-smi', NVIDIA_SMI_ARGS));
  } catch (err) {
    if (!isNoGpuMachine(err)) warn(`GPU detection: nvidia-smi failed, assuming no GPUs: ${(err as Error).message}`);
    return [];
  }
  try {
    return parseNvidiaSmiCsv(stdout);
  } catch (err) {
    warn(`GPU detection: ${(err as Error).message}; assuming no GPUs`);
    return [];
  }
}

/**
 * Hands out GPUs to jobs: each job gets its own indices, and a job asking for more GPUs than are
 * free waits (allocate returns null) instead of sharing. Lowest indices first, so a worker with
 * one multi-GPU job and single-GPU jobs keeps its allocations contiguous where it can.
 */
export class GpuAllocator {
  private readonly all: readonly number[];
  private readonly free: Set<number>;

  constructor(indices: readonly number[]) {
    this.all = [...new Set(indices)].sort((a, b) => a - b);
    this.free = new Set(this.all);
  }

  static fromGpus(gpus: readonly Gpu[]): GpuAllocator {
    return new GpuAllocator(gpus.map((g) => g.index));
  }

  get total(): number {
    return this.all.length;
  }

  get available(): number {
    return this.free.size;
  }

  /** `count` free GPU indices, now reserved, or null when fewer are free. Zero GPUs always succeeds. */
  allocate(count: number): number[] | null {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`GPU count must be a non-negative integer, got ${count}`);
    if (count > this.free.size) return null;
    const chosen = this.all.filter((i) => this.free.has(i)).slice(0, count);
    for (const i of chosen) this.free.delete(i);
    return chosen;
  }

  /** Returns GPUs to the pool. Releasing a GPU that is not allocated is a bookkeeping bug and throws. */
  release(indices: readonly number[]): void {
    for (const i of indices) {
      if (!this.all.includes(i)) throw new RangeError(`GPU ${i} does not belong to this worker`);
      if (this.free.has(i)) throw new RangeError(`GPU ${i} is not allocated`);
    }
    for (const i of indices) this.free.add(i);
  }
}

/**
 * The CUDA_VISIBLE_DEVICES value pinning a job to `indices`. An empty list gives "" which hides
 * every GPU: a CPU job on a GPU worker must not grab a GPU another job was given.
 */
export function cudaVisibleDevices(indices: readonly number[]): string {
  return indices.join(',');
}

/** What `runplane dev` and `runplane worker` say at start about the GPUs they found. */
export function describeGpus(gpus: readonly Gpu[]): string {
  if (gpus.length === 0) return 'none (nvidia-smi is not on PATH or lists no GPU): jobs asking for GPUs wait for a worker that has them';
  const each = gpus.map((g) => `${g.index}: ${g.name}${g.memoryTotalMiB > 0 ? ` (${g.memoryTotalMiB} MiB)` : ''}`);
  return `${gpus.length} found by nvidia-smi: ${each.join(', ')}`;
}
