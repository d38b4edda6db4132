import type Docker from 'dockerode';
import type { MeasuredUse } from '../usage/usage.ts';
import { DEFAULT_SAMPLE_INTERVAL_MS, PeriodicSampler } from './periodic-sampler.ts';

/** The parts of the Engine's stats answer (GET /containers/{id}/stats) read here. */
export interface ContainerStats {
  readonly cpu_stats?: { readonly cpu_usage?: { readonly total_usage?: number } };
  readonly memory_stats?: { readonly usage?: number; readonly max_usage?: number };
}

/** CPU nanoseconds and memory bytes of one stats answer (pure); undefined for an empty one (a container not running). */
export function readContainerStats(stats: ContainerStats): { cpuNs: number; memoryBytes: number } | undefined {
  const cpuNs = stats.cpu_stats?.cpu_usage?.total_usage;
  const usage = stats.memory_stats?.usage;
  if (cpuNs === undefined || usage === undefined) return undefined;
  // cgroup v1 engines report the kernel's own high-water mark; v2 engines report only current use.
  return { cpuNs, memoryBytes: Math.max(usage, stats.memory_stats?.max_usage ?? 0) };
}

/**
 * What a container used, from the Engine's stats of its cgroup, sampled while it runs (the cgroup,
 * and its counters, go when the container exits). CPU is the container's cumulative counter at the
 * last sample, so it misses at most one interval at the end; memory is the largest use seen (the
 * kernel's own peak on cgroup v1 engines).
 */
export class ContainerStatsSampler extends PeriodicSampler {
  private cpuNs = 0;
  private memoryBytes = 0;
  private samples = 0;

  constructor(
    private readonly container: Docker.Container,
    intervalMs = DEFAULT_SAMPLE_INTERVAL_MS,
  ) {
    super(intervalMs);
  }

  async stop(): Promise<MeasuredUse> {
    await this.stopSampling(false);
    if (this.samples === 0) return { cpuSeconds: null, peakMemoryBytes: null };
    return { cpuSeconds: this.cpuNs / 1e9, peakMemoryBytes: this.memoryBytes };
  }

  protected async sample(): Promise<void> {
    // one-shot: the Engine answers at once instead of waiting a second for a CPU delta we do not use.
    const stats = (await this.container.stats({ stream: false, 'one-shot': true } as { stream: false })) as ContainerStats;
    const read = readContainerStats(stats);
    if (!read) return;
    this.samples++;
    this.cpuNs = Math.max(this.cpuNs, read.cpuNs);
    this.memoryBytes = Math.max(this.memoryBytes, read.memoryBytes);
  }
}
