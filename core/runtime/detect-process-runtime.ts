import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { JobRuntime } from './job-runtime.ts';
import { MemoryCgroup } from './memory-cgroup.ts';
import { ProcessRuntime } from './process-runtime.ts';
import { SandboxedProcessRuntime } from './sandboxed-process-runtime.ts';

const run = promisify(execFile);

/** First uid of the job slots (worker-image/Dockerfile creates runplane-slot-N with uid FIRST_SLOT_UID + N). */
export const FIRST_SLOT_UID = 20_000;
export const MAX_SLOTS = 64;

/** Where a worker's user keeps credentials a job must not read when it runs with the same uid. */
export function credentialPaths(home = homedir()): string[] {
  return ['.aws', '.ssh', '.gnupg', '.docker', '.kube', '.config/gcloud', '.netrc', '.npmrc', '.git-credentials', '.runplane'].map((p) => join(home, p));
}

export interface DetectProcessRuntimeOptions {
  /** The platform's data directory and anything else no job may see. */
  readonly hiddenPaths?: readonly string[];
  /** `none` forces the unisolated runtime (benchmarks' baseline); `auto` takes the best this machine offers. */
  readonly mode?: 'auto' | 'none';
  readonly bwrap?: string;
}

/**
 * The strongest process runtime this machine supports: bubblewrap where it can create namespaces
 * (a plain Linux host), slot uids where the worker is root (also inside the worker image, where a
 * container cannot create namespaces), a memory cgroup where one can be made; the unisolated
 * ProcessRuntime otherwise (macOS, a non-root worker without bubblewrap), whose isolation says so.
 */
export async function detectProcessRuntime(options: DetectProcessRuntimeOptions = {}): Promise<JobRuntime> {
  if (options.mode === 'none' || process.platform !== 'linux') return new ProcessRuntime();
  const isRoot = process.getuid?.() === 0;
  const bwrap = options.bwrap ?? 'bwrap';
  const bwrapWorks = await run(bwrap, ['--die-with-parent', '--unshare-pid', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', 'true'], { timeout: 5_000 })
    .then(() => true)
    .catch(() => false);
  const setprivWorks = isRoot && (await run('setpriv', ['--version'], { timeout: 5_000 }).then(() => true).catch(() => false));
  if (!bwrapWorks && !setprivWorks) return new ProcessRuntime();
  return new SandboxedProcessRuntime({
    bwrap: bwrapWorks ? bwrap : undefined,
    slotUids: setprivWorks ? { first: FIRST_SLOT_UID, count: MAX_SLOTS } : undefined,
    memoryCgroups: isRoot ? await MemoryCgroup.detectRoot() : undefined,
    hiddenPaths: [...(options.hiddenPaths ?? []), ...credentialPaths()],
  });
}
