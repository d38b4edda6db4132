import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobRunSpec, JobRuntime } from '../../core/runtime/job-runtime.ts';
import { detectProcessRuntime } from '../../core/runtime/detect-process-runtime.ts';
import { ProcessRuntime } from '../../core/runtime/process-runtime.ts';

/**
 * One conformance suite for every JobRuntime adapter: whatever runs the job, the worker sees the
 * same exits, output, start errors and stops.
 */
const runtimes: [string, () => Promise<JobRuntime>][] = [
  ['process', () => Promise.resolve(new ProcessRuntime())],
  ['sandboxed process (the best this machine offers)', () => detectProcessRuntime()],
];

describe.each(runtimes)('JobRuntime conformance: %s', (_name, makeRuntime) => {
  let workDir: string;
  let runtime: JobRuntime;
  beforeEach(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'runplane-runtime-'));
    runtime = await makeRuntime();
  });
  afterEach(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  function spec(argv: string[], output: Buffer[] = []): JobRunSpec {
    return {
      jobId: 'j1',
      attempt: 1,
      workerId: 'w1',
      pool: 'default',
      argv,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GREETING: 'hello' },
      workDir,
      gpuIndices: [],
      resources: { gpus: 0, cpu: 1, memoryMiB: 256 },
      onOutput: (_stream, chunk) => {
        output.push(chunk);
        return true;
      },
      whenWritable: () => Promise.resolve(),
    };
  }

  it('runs argv in the work dir with the given env and reports the exit code and all output', async () => {
    const output: Buffer[] = [];
    const job = await runtime.start(spec(['sh', '-c', 'echo "$GREETING from $(pwd)"; exit 7'], output));
    const exit = await job.exited;
    expect(exit).toMatchObject({ exitCode: 7, signal: null });
    expect(Buffer.concat(output).toString()).toBe(`hello from ${workDir}\n`);
  });

  it('reports a program that cannot start as a start error, not a crash', async () => {
    const job = await runtime.start(spec(['/definitely/not/here']));
    const exit = await job.exited;
    expect(exit.exitCode).toBeNull();
    expect(exit.startError).toMatch(/ENOENT|not found|no such file/i);
  });

  it('stop(SIGKILL) ends the job and every process it started', { timeout: 20_000 }, async () => {
    const output: Buffer[] = [];
    const job = await runtime.start(spec(['sh', '-c', 'sleep 60 & echo started; wait'], output));
    while (!Buffer.concat(output).toString().includes('started')) await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    job.stop('SIGKILL');
    const exit = await job.exited;
    expect(exit.exitCode).toBeNull();
    // `exited` waits for every holder of the output: the backgrounded `sleep 60` must be dead too
    // (the bound is far below its 60 s, and generous for a loaded machine).
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});
