import { dirname } from 'node:path';

export interface SandboxCommandInput {
  /** bubblewrap's path, or undefined where there is none (the job then runs with only a uid of its own). */
  readonly bwrap: string | undefined;
  /** setpriv's path: how a root worker drops to the slot uid (no capabilities, no new privileges). */
  readonly setpriv: string;
  /** The slot's uid/gid; undefined when the worker is not root and cannot change identity. */
  readonly slot: { readonly uid: number; readonly gid: number } | undefined;
  /** Paths that must not exist for the job: the platform's data directory, credentials. Only existing ones. */
  readonly hidden: readonly { readonly path: string; readonly isDirectory: boolean }[];
  readonly workDir: string;
  /** cgroup.procs of the attempt's memory cgroup: the wrapper joins it before anything of the job runs. */
  readonly cgroupProcs: string | undefined;
  readonly argv: readonly string[];
}

/**
 * The argv that runs a job sandboxed. bubblewrap gives it its own PID namespace (it sees only its
 * own processes, and when its main process ends the kernel kills everything left in the namespace,
 * double-forked daemons included), a read-only view of the machine with a private /tmp, the other
 * attempts' directories and `hidden` covered by empty tmpfs, and its own directory read-write.
 * setpriv then drops to the slot's uid with no capabilities, so the job cannot read the worker's
 * files or /proc/<pid>/environ nor signal processes of the platform or other slots.
 */
export function sandboxCommand(input: SandboxCommandInput): string[] {
  const dropIdentity = input.slot
    ? [
        input.setpriv,
        `--reuid=${input.slot.uid}`,
        `--regid=${input.slot.gid}`,
        '--clear-groups',
        '--inh-caps=-all',
        '--bounding-set=-all',
        '--no-new-privs',
        '--',
      ]
    : [];
  const sandbox = input.bwrap
    ? [
        input.bwrap,
        '--die-with-parent',
        '--unshare-pid',
        '--unshare-ipc',
        '--unshare-uts',
        '--unshare-cgroup-try',
        '--ro-bind', '/', '/',
        '--dev', '/dev',
        '--proc', '/proc',
        '--tmpfs', '/tmp',
        '--tmpfs', '/dev/shm',
        ...input.hidden.flatMap((h) => (h.isDirectory ? ['--tmpfs', h.path] : ['--ro-bind', '/dev/null', h.path])),
        // Other attempts' directories live beside this one.
        '--tmpfs', dirname(input.workDir),
        '--bind', input.workDir, input.workDir,
        '--chdir', input.workDir,
        '--',
      ]
    : [];
  const joinCgroup = input.cgroupProcs ? ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', input.cgroupProcs] : [];
  return [...joinCgroup, ...sandbox, ...dropIdentity, ...input.argv];
}
