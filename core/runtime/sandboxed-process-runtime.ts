import { access, chmod, chown, constants, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { spawnJobProcess } from './process-runner.ts';
import type { JobExit, JobRunSpec, JobRuntime, RunningJob, RuntimeIsolation } from './job-runtime.ts';
import { MemoryCgroup } from './memory-cgroup.ts';
import { descendantsOf, listProcesses, processTree, signalPids } from './process-tree.ts';
import { combineMeasures, ProcessTreeSampler } from './process-tree-sampler.ts';
import { sandboxCommand } from './sandbox-command.ts';

export interface SandboxedProcessRuntimeOptions {
  /** bubblewrap, or undefined to contain jobs by slot uid and cgroup only (the worker image, where a container cannot create namespaces). */
  readonly bwrap: string | undefined;
  readonly setpriv?: string;
  /** Uids for job slots when the worker runs as root: slot i runs as first + i. Undefined when not root. */
  readonly slotUids: { readonly first: number; readonly count: number } | undefined;
  /** Where attempts' memory cgroups go; undefined where none can be created. */
  readonly memoryCgroups: { readonly root: string; readonly version: 1 | 2 } | undefined;
  /** Paths a job must never see (the platform's data directory, credentials). */
  readonly hiddenPaths: readonly string[];
}

/** Slots taken by attempts of this process's workers (several workers may share one process). */
const slotsInUse = new Set<number>();

/**
 * Runs a job as a process the platform's identity never touches: in a bubblewrap sandbox with its
 * own PID namespace where available, as a slot uid of its own when the worker is root, in a memory
 * cgroup where the machine lets the worker create one. When it ends, nothing it started survives.
 */
export class SandboxedProcessRuntime implements JobRuntime {
  readonly isolation: RuntimeIsolation;
  private readonly o: SandboxedProcessRuntimeOptions;

  constructor(options: SandboxedProcessRuntimeOptions) {
    this.o = options;
    const parts = [
      options.bwrap ? 'bubblewrap sandbox (own PID namespace; data directory, other jobs and platform processes hidden)' : undefined,
      options.slotUids ? `own uid per slot (${options.slotUids.first}..${options.slotUids.first + options.slotUids.count - 1})` : undefined,
      options.memoryCgroups ? `memory limit by cgroup v${options.memoryCgroups.version}` : 'no memory limit (no cgroup available)',
    ].filter(Boolean);
    this.isolation = { kind: options.bwrap ? 'sandbox' : 'slot-user', summary: parts.join('; ') };
  }

  async start(spec: JobRunSpec): Promise<RunningJob> {
    const program = await resolveProgram(spec.argv[0] ?? '', spec.env.PATH ?? '', spec.workDir);
    if (!program) return startFailed(`spawn ${spec.argv[0]} ENOENT`);
    const slotIndex = this.o.slotUids ? takeSlot(this.o.slotUids.count) : undefined;
    if (this.o.slotUids && slotIndex === undefined) return startFailed('no free job slot uid on this worker');
    const slot = slotIndex !== undefined && this.o.slotUids ? { uid: this.o.slotUids.first + slotIndex, gid: this.o.slotUids.first + slotIndex } : undefined;
    let cgroup: MemoryCgroup | undefined;
    try {
      if (slot) await chown(spec.workDir, slot.uid, slot.gid);
      await chmod(spec.workDir, 0o700);
      if (this.o.memoryCgroups) {
        cgroup = await MemoryCgroup.create(this.o.memoryCgroups, `${spec.jobId}-${spec.attempt}`, spec.resources.memoryMiB * 1024 * 1024);
      }
    } catch (err) {
      if (slotIndex !== undefined) slotsInUse.delete(slotIndex);
      await cgroup?.remove();
      return startFailed(`could not prepare the sandbox: ${(err as Error).message}`);
    }
    const hidden = await existing(this.o.hiddenPaths);
    const argv = sandboxCommand({
      bwrap: this.o.bwrap,
      setpriv: this.o.setpriv ?? 'setpriv',
      slot,
      hidden,
      workDir: spec.workDir,
      cgroupProcs: cgroup?.procsFile,
      argv: spec.argv,
    });
    const child = spawnJobProcess({
      argv,
      env: { ...spec.env, ...(slot ? { HOME: spec.workDir } : {}) },
      cwd: spec.workDir,
      onOutput: spec.onOutput,
      whenWritable: spec.whenWritable,
    });
    const outer = child.pid;

    /** The job's own processes: the wrapper's tree, the cgroup and (without a PID namespace) the slot uid's, minus bubblewrap itself. */
    const jobProcesses = async (): Promise<number[]> => {
      if (outer === undefined) return [];
      const all = await listProcesses();
      const pids = new Set([outer, ...descendantsOf(all, outer).map((p) => p.pid), ...((await cgroup?.pids()) ?? [])]);
      if (slot && !this.o.bwrap) for (const p of all) if (p.uid === slot.uid) pids.add(p.pid);
      const workerUid = process.getuid?.();
      for (const p of all) if (p.comm === 'bwrap' && p.uid === workerUid) pids.delete(p.pid);
      return [...pids].filter((pid) => all.some((p) => p.pid === pid));
    };

    // The cgroup counts exactly where the kernel offers it (v2: CPU and peak; v1: peak); /proc
    // samples of the wrapper's tree (bubblewrap, the init of the job's PID namespace, reaps all
    // of it) fill in the rest.
    const sampler = outer === undefined ? undefined : new ProcessTreeSampler(() => processTree(outer)).start();

    const exited = child.exited.then(async (exit): Promise<JobExit> => {
      const sampled = await sampler?.stop();
      // Whatever the job left behind dies with it: the PID namespace is gone already under
      // bubblewrap; without it, every process of the slot uid and of the cgroup is ended here.
      for (let i = 0; i < 50; i++) {
        const left = await jobProcesses();
        if (left.length === 0) break;
        signalPids(left, 'SIGKILL');
        await new Promise((r) => setTimeout(r, 20));
      }
      const oomKills = (await cgroup?.oomKills()) ?? 0;
      const counted = await cgroup?.usage();
      await cgroup?.remove();
      if (slotIndex !== undefined) slotsInUse.delete(slotIndex);
      return {
        exitCode: exit.spawnError ? null : exit.exitCode,
        signal: exit.signal,
        ...(exit.spawnError !== undefined ? { startError: exit.spawnError } : {}),
        ...(oomKills > 0 ? { memoryExceeded: true } : {}),
        ...(exit.spawnError === undefined && sampled ? { resourceUse: combineMeasures(counted, sampled) } : {}),
      };
    });

    return {
      pid: outer,
      exited,
      stop: (signal) => {
        if (signal === 'SIGKILL') {
          // Killing the namespace's init (bubblewrap) makes the kernel kill everything in it.
          child.signal('SIGKILL');
          void jobProcesses().then((pids) => signalPids(pids, 'SIGKILL'));
          return;
        }
        // A polite stop goes to the job's processes only: bubblewrap would die of it at once and
        // take the job down without its grace period.
        void jobProcesses().then((pids) => (pids.length > 0 ? signalPids(pids, signal) : child.signal(signal)));
      },
    };
  }
}

function takeSlot(count: number): number | undefined {
  for (let i = 0; i < count; i++) {
    if (!slotsInUse.has(i)) {
      slotsInUse.add(i);
      return i;
    }
  }
  return undefined;
}

function startFailed(reason: string): Promise<RunningJob> {
  return Promise.resolve({ pid: undefined, exited: Promise.resolve({ exitCode: null, signal: null, startError: reason }), stop: () => undefined });
}

/** The program the job names, found the way execvp would; undefined when there is none. */
async function resolveProgram(program: string, path: string, cwd: string): Promise<string | undefined> {
  const candidates = program.includes('/') ? [isAbsolute(program) ? program : join(cwd, program)] : path.split(delimiter).filter(Boolean).map((d) => join(d, program));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.F_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

async function existing(paths: readonly string[]) {
  const found = await Promise.all(
    paths.map(async (path) => {
      try {
        return { path, isDirectory: (await stat(path)).isDirectory() };
      } catch {
        return undefined;
      }
    }),
  );
  return found.filter((h): h is { path: string; isDirectory: boolean } => h !== undefined);
}
