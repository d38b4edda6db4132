import { readFile, writeFile } from 'node:fs/promises';

/*
 * Why the platform lowers its own CPU priority, and how.
 *
 * A job shares the machine's cores with the worker that captures its output (reading the capture
 * files, splitting, deflating, storing events) and, locally, with DynamoDB Local, which parses and
 * stores every event. That is several seconds of CPU per 100 MiB of output, taken while the job
 * runs: on a busy 2-core machine the job lost 20-50% of its wall time to it
 * (specs/05-output-batching.md, decision 19). The platform's work can wait a little (output is
 * read from files, nothing is lost by reading it later); the job's cannot.
 *
 * On Linux with autogroups (`/proc/sys/kernel/sched_autogroup_enabled`, the default on desktop and
 * server distributions) the scheduler shares CPU between sessions first, then between the threads
 * of a session by their nice values. A job runs in a session of its own (it is spawned detached),
 * so a plain `nice` of the worker's threads changes nothing between them: only the nice value of
 * the worker's autogroup does. Raising it needs no privilege and raises nothing for the job. The
 * job, in a fresh autogroup, keeps the default priority, so it is not favoured over other work of
 * the machine either, only over the platform.
 *
 * Where the kernel has no autogroups (or the processes are in cpu cgroups, which take precedence:
 * a container), the file is missing or has no effect, and nothing changes.
 */

/** The nice value of the platform's autogroups: weight 110 against a job's 1024, so a contended core is ~90% the job's. */
export const PLATFORM_AUTOGROUP_NICE = 10;

/**
 * Whether this process leads its session, and so has an autogroup of its own. Otherwise its
 * autogroup is its caller's (a terminal's shell): lowering it would outlast this process, since
 * an unprivileged process can raise a nice value but never lower it again.
 */
export async function leadsOwnSession(): Promise<boolean> {
  // /proc/self/stat: "pid (comm) state ppid pgrp session ..."; comm may hold spaces and parentheses.
  const stat = await readFile('/proc/self/stat', 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[3]) === process.pid;
}

/** What lowerAutogroupPriority found: the autogroup's nice value after the call, or why there is none. */
export type AutogroupPriority = { readonly nice: number } | { readonly unavailable: string };

/**
 * Raises the nice value of the autogroup of `pid` (`self`: this process) to `nice`, never lowers it
 * (a lower value needs CAP_SYS_NICE and would favour the platform over its jobs).
 */
export async function lowerAutogroupPriority(pid: number | 'self', nice: number = PLATFORM_AUTOGROUP_NICE): Promise<AutogroupPriority> {
  const file = `/proc/${pid}/autogroup`;
  try {
    const current = Number(/nice (-?\d+)/.exec(await readFile(file, 'utf8'))?.[1]);
    if (!Number.isFinite(current)) return { unavailable: `unexpected contents of ${file}` };
    if (current >= nice) return { nice: current };
    await writeFile(file, String(nice));
    return { nice };
  } catch (err) {
    return { unavailable: `${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
}

/**
 * What a worker process calls at start: lowers its own autogroup below its jobs' when it leads its
 * session (a service manager's, a container's, `setsid`); otherwise leaves its caller's alone.
 */
export async function yieldCpuToJobs(): Promise<AutogroupPriority> {
  if (!(await leadsOwnSession())) return { unavailable: "not a session leader (its autogroup is its caller's; `setsid` gives it its own)" };
  return lowerAutogroupPriority('self');
}
