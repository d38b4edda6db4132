import { readFile } from 'node:fs/promises';
import type { MeasuredUse } from '../usage/usage.ts';
import { DEFAULT_SAMPLE_INTERVAL_MS, PeriodicSampler } from './periodic-sampler.ts';

/** Linux reports CPU time in clock ticks of USER_HZ, which is 100 on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
/** /proc/<pid>/stat gives RSS in pages; 4 KiB on x86_64 and on the arm64 kernels EC2 and Debian ship. */
const PAGE_BYTES = 4096;

/** CPU ticks (own and reaped children's) and resident pages of one process, from /proc/<pid>/stat. */
export interface ProcStat {
  readonly cpuTicks: number;
  readonly rssPages: number;
}

/** Parses /proc/<pid>/stat (pure): utime, stime, cutime, cstime and rss, counted from the field after `(comm)`. */
export function parseProcStat(raw: string): ProcStat | undefined {
  const close = raw.lastIndexOf(')');
  if (close < 0) return undefined;
  // Fields from the state (field 3) on: utime is field 14, stime 15, cutime 16, cstime 17, rss 24.
  const f = raw.slice(close + 2).split(' ').map(Number);
  const [utime, stime, cutime, cstime, rss] = [f[11], f[12], f[13], f[14], f[21]];
  if ([utime, stime, cutime, cstime, rss].some((n) => n === undefined || !Number.isFinite(n))) return undefined;
  return { cpuTicks: utime! + stime! + cutime! + cstime!, rssPages: rss! };
}

async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  try {
    return parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // exited meanwhile
  }
}

/**
 * What a job's process tree used, by sampling /proc: the fallback where the job has no cgroup that
 * counts for it (a plain process, CPU time under cgroup v1). Each sample sums, over the tree's
 * live processes, their own CPU time plus that of the children they reaped (cutime/cstime), and
 * their resident memory; the result is the largest sum seen. So it is a lower bound: it misses
 * what the tree did after the last sample (at most one interval), processes that lived and died
 * between two samples without a parent in the tree to reap them, and memory peaks between samples.
 */
export class ProcessTreeSampler extends PeriodicSampler {
  private cpuTicks = 0;
  private rssPages = 0;
  private samples = 0;

  constructor(
    /** The job's processes now. */
    private readonly pids: () => Promise<readonly number[]>,
    intervalMs = DEFAULT_SAMPLE_INTERVAL_MS,
  ) {
    super(intervalMs);
  }

  /** Takes a last sample (the tree may still be there) and stops. */
  async stop(): Promise<MeasuredUse> {
    await this.stopSampling(true);
    return this.result();
  }

  result(): MeasuredUse {
    if (this.samples === 0) return { cpuSeconds: null, peakMemoryBytes: null };
    return { cpuSeconds: this.cpuTicks / CLOCK_TICKS_PER_SECOND, peakMemoryBytes: this.rssPages * PAGE_BYTES };
  }

  protected async sample(): Promise<void> {
    const stats = (await Promise.all((await this.pids()).map(readProcStat))).filter((s): s is ProcStat => s !== undefined);
    if (stats.length === 0) return;
    this.samples++;
    this.cpuTicks = Math.max(this.cpuTicks, stats.reduce((sum, s) => sum + s.cpuTicks, 0));
    this.rssPages = Math.max(this.rssPages, stats.reduce((sum, s) => sum + s.rssPages, 0));
  }
}

/** Each measure from `preferred` where it has one, else from `fallback`. */
export function combineMeasures(preferred: MeasuredUse | undefined, fallback: MeasuredUse): MeasuredUse {
  return {
    cpuSeconds: preferred?.cpuSeconds ?? fallback.cpuSeconds,
    peakMemoryBytes: preferred?.peakMemoryBytes ?? fallback.peakMemoryBytes,
  };
}
