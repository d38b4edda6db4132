import { readdir, readFile, stat } from 'node:fs/promises';

export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  readonly uid: number;
}

/** Every process of this machine (Linux /proc), as the worker's PID namespace sees them. */
export async function listProcesses(): Promise<ProcessInfo[]> {
  const names = await readdir('/proc').catch(() => [] as string[]);
  const found = await Promise.all(
    names.filter((n) => /^\d+$/.test(n)).map(async (n): Promise<ProcessInfo | undefined> => {
      try {
        const [raw, info] = await Promise.all([readFile(`/proc/${n}/stat`, 'utf8'), stat(`/proc/${n}`)]);
        // comm may contain spaces and parentheses: the fields after it start at the last ')'.
        const close = raw.lastIndexOf(')');
        const fields = raw.slice(close + 2).split(' ');
        return { pid: Number(n), ppid: Number(fields[1]), comm: raw.slice(raw.indexOf('(') + 1, close), uid: info.uid };
      } catch {
        return undefined; // exited while we looked
      }
    }),
  );
  return found.filter((p): p is ProcessInfo => p !== undefined);
}

/** `root` and everything below it, found through parent links (reparented orphans stay under a PID namespace's init). */
export function descendantsOf(processes: readonly ProcessInfo[], root: number): ProcessInfo[] {
  const children = new Map<number, ProcessInfo[]>();
  for (const p of processes) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: ProcessInfo[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

/**
 * `root` and every process below it, now: walked down through /proc/<pid>/task/<tid>/children,
 * which costs a few reads per process of the tree instead of one per process of the machine;
 * through parent links of every process where the kernel lacks those files.
 */
export async function processTree(root: number): Promise<number[]> {
  const children = async (pid: number): Promise<number[] | undefined> => {
    const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
    const lists = await Promise.all(tasks.map((t) => readFile(`/proc/${pid}/task/${t}/children`, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' && t === String(pid) ? undefined : ''))));
    if (lists.some((l) => l === undefined) && tasks.length > 0 && !(await exists(`/proc/${pid}/task/${pid}/children`))) return undefined;
    return lists.flatMap((l) => (l ?? '').split(' ').filter(Boolean).map(Number));
  };
  const found = [root];
  for (let i = 0; i < found.length; i++) {
    const below = await children(found[i]!);
    if (below === undefined) return [root, ...descendantsOf(await listProcesses(), root).map((p) => p.pid)];
    for (const pid of below) if (!found.includes(pid)) found.push(pid);
  }
  return found;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export function signalPids(pids: Iterable<number>, signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone, or not ours to signal
    }
  }
}

/**
 * Whether any process of group `pgid` is still alive: not yet ended, or ended and not reaped (a
 * zombie, state `Z`, runs nothing and writes nothing). Where no init reaps orphans (a container
 * without one, some sandboxes), a job's dead orphans stay zombies in its group, and a bare
 * `kill(-pgid, 0)` reports the group alive until they are reaped, if ever. Linux /proc; null
 * where there is none (the caller falls back to the signal test).
 */
export async function groupHasLiveMember(pgid: number): Promise<boolean | null> {
  const names = await readdir('/proc').catch(() => null);
  if (names === null) return null;
  const states = await Promise.all(
    names
      .filter((n) => /^\d+$/.test(n))
      .map(async (n) => {
        try {
          const raw = await readFile(`/proc/${n}/stat`, 'utf8');
          // After the comm's last ')': state, ppid, pgrp, ...
          const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
          return Number(fields[2]) === pgid ? fields[0] : undefined;
        } catch {
          return undefined; // exited while we looked
        }
      }),
  );
  return states.some((state) => state !== undefined && state !== 'Z' && state !== 'X');
}

