import { access, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MeasuredUse } from '../usage/usage.ts';

/**
 * A memory cgroup for one attempt: the kernel enforces the job's `resources.memoryMiB` over every
 * process it starts (double-forked ones included) and counts the OOM kills, so the attempt can say
 * it was killed for memory. Supports cgroup v2 (memory.max) and v1 (memory.limit_in_bytes).
 */
export class MemoryCgroup {
  private constructor(
    readonly path: string,
    private readonly version: 1 | 2,
  ) {}

  /** Where attempts' cgroups go on this machine, or undefined where the worker may not create them. */
  static async detectRoot(name = 'runplane'): Promise<{ root: string; version: 1 | 2 } | undefined> {
    const candidates: [string, 1 | 2][] = [
      ['/sys/fs/cgroup/memory', 1],
      ['/sys/fs/cgroup', 2],
    ];
    for (const [base, version] of candidates) {
      const marker = version === 1 ? 'memory.limit_in_bytes' : 'cgroup.controllers';
      if (!(await exists(join(base, marker)))) continue;
      const root = join(base, name);
      try {
        await mkdir(root, { recursive: true });
        if (version === 2) await writeFile(join(base, 'cgroup.subtree_control'), '+memory').catch(() => undefined);
        await access(join(root, 'cgroup.procs'));
        return { root, version };
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  static async create(where: { root: string; version: 1 | 2 }, name: string, limitBytes: number): Promise<MemoryCgroup> {
    const path = join(where.root, name);
    await mkdir(path, { recursive: true });
    const group = new MemoryCgroup(path, where.version);
    if (where.version === 1) {
      await writeFile(join(path, 'memory.limit_in_bytes'), String(limitBytes));
      // Without a memsw limit, a job over its limit swaps instead of being stopped.
      await writeFile(join(path, 'memory.memsw.limit_in_bytes'), String(limitBytes)).catch(() => undefined);
    } else {
      await writeFile(join(path, 'memory.max'), String(limitBytes));
      await writeFile(join(path, 'memory.swap.max'), '0').catch(() => undefined);
    }
    return group;
  }

  /** The file a process writes its own pid to, to join before it execs the job. */
  get procsFile(): string {
    return join(this.path, 'cgroup.procs');
  }

  async pids(): Promise<number[]> {
    const raw = await readFile(this.procsFile, 'utf8').catch(() => '');
    return raw.split('\n').filter(Boolean).map(Number);
  }

  /** How many processes the kernel killed for exceeding the limit. */
  async oomKills(): Promise<number> {
    const file = this.version === 1 ? 'memory.oom_control' : 'memory.events';
    const raw = await readFile(join(this.path, file), 'utf8').catch(() => '');
    return Number(/^oom_kill (\d+)$/m.exec(raw)?.[1] ?? 0);
  }

  /**
   * What the group's processes used, exactly as the kernel counted it: peak memory (v2
   * `memory.peak`, kernel 5.19+; v1 `memory.max_usage_in_bytes`) and CPU time (v2 `cpu.stat`
   * `usage_usec`). Null where this kernel or hierarchy has no such file (v1 counts CPU in the
   * separate cpuacct hierarchy: the caller samples /proc for it). Read it before `remove`.
   */
  async usage(): Promise<MeasuredUse> {
    const read = (file: string) => readFile(join(this.path, file), 'utf8').catch(() => undefined);
    if (this.version === 1) {
      const peak = await read('memory.max_usage_in_bytes');
      return { cpuSeconds: null, peakMemoryBytes: peak === undefined ? null : Number(peak.trim()) };
    }
    const [peak, cpu] = await Promise.all([read('memory.peak'), read('cpu.stat')]);
    const usec = cpu === undefined ? undefined : /^usage_usec (\d+)$/m.exec(cpu)?.[1];
    return { cpuSeconds: usec === undefined ? null : Number(usec) / 1e6, peakMemoryBytes: peak === undefined ? null : Number(peak.trim()) };
  }

  /** Kills what is left in the group (until it is empty) and removes it. */
  async remove(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      const pids = await this.pids();
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await rmdir(this.path).catch(() => undefined);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
