import { readdirSync, readFileSync } from 'node:fs';

/**
 * Ends job processes that a killed platform left running (jobs run detached, in process groups of
 * their own, so a SIGKILLed platform takes none of them along): before their jobs run again, any
 * process of this user whose environment names one of `jobIds` (RUNPLANE_JOB_ID, set by
 * core/worker/job-environment.ts) has its process group killed. Linux only (/proc), best effort: a
 * job that re-execs itself with another environment escapes it; containing job process trees
 * (a PID namespace or cgroup per job) is what removes that gap. Returns the groups killed.
 */
export function endOrphanedJobProcesses(jobIds: ReadonlySet<string>): number {
  if (jobIds.size === 0 || process.platform !== 'linux') return 0;
  const groups = new Set<number>();
  const ownStat = readFileSync('/proc/self/stat', 'utf8');
  const ownGroup = Number(ownStat.slice(ownStat.lastIndexOf(')') + 2).split(' ')[2]);
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const jobId = readFileSync(`/proc/${entry}/environ`, 'utf8')
        .split('\0')
        .find((v) => v.startsWith('RUNPLANE_JOB_ID='))
        ?.slice('RUNPLANE_JOB_ID='.length);
      if (!jobId || !jobIds.has(jobId)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      // A job leads its own group (detached); never signal a group that is not clearly one.
      if (Number.isInteger(pgid) && pgid > 1 && pgid !== ownGroup) groups.add(pgid);
    } catch {
      // exited meanwhile, or another user's
    }
  }
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  return groups.size;
}
