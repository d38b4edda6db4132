import { execFile } from 'node:child_process';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectGpus } from '../../core/worker/gpus.ts';
import type { Gpu } from '../../core/workers/registry.ts';

/**
 * The GPUs a worker finds through a fake `nvidia-smi` script that lists `count` GPUs, detected the
 * way a worker detects real ones (the script runs; its CSV is parsed by core/worker/gpus.ts).
 */
export async function fakeGpus(count: number): Promise<Gpu[]> {
  const bin = await mkdtemp(join(tmpdir(), 'fake-nvidia-smi-'));
  const lines = Array.from({ length: count }, (_, i) => `${i}, GPU-fake-${String(i).padStart(4, '0')}, NVIDIA Fake GPU, 24576, 0, 0`);
  const script = join(bin, 'nvidia-smi');
  await writeFile(script, `#!/bin/sh\ncat <<'CSV'\n${lines.join('\n')}\nCSV\n`);
  await chmod(script, 0o755);
  const gpus = await detectGpus(
    (_command, args) =>
      new Promise((resolve, reject) => execFile(script, [...args], { encoding: 'utf8' }, (err, stdout) => (err ? reject(err) : resolve({ stdout })))),
    { warn: (m) => { throw new Error(m); } },
  );
  if (gpus.length !== count) throw new Error(`fake nvidia-smi listed ${gpus.length} GPUs, wanted ${count}`);
  return gpus;
}
