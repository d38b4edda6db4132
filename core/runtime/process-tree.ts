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

/** `root` and every process below it, now. */
export async function processTree(root: number): Promise<number[]> {
  return [root, ...descendantsOf(await listProcesses(), root).map((p) => p.pid)];
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
