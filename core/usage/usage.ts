/**
 * What an attempt used and cost (pure). The worker measures, the store records the result in the
 * write that ends the attempt, and GET /v1/jobs/{id} and GET /v1/usage read it back.
 *
 * Cost model (specs/02-data-model.md, "Usage and cost"): an attempt holds a share of one instance
 * from its claim to its end: GPUs held ÷ the instance's GPUs on a GPU pool, vCPUs requested ÷ the
 * instance's vCPUs on a CPU pool (at most the whole instance). Its cost is the pool's price per
 * instance-hour × that share × the hours held.
 */

/** One attempt's use of its worker, and its cost. The same shape sums a job's attempts. */
export interface AttemptUsage {
  /** From the claim to the write that ended the attempt (preparing the work directory and pulling the image included: the share is held). */
  readonly wallSeconds: number;
  /** wallSeconds × GPUs held. */
  readonly gpuSeconds: number;
  /** User + system CPU time of the job's processes (or container); null when nothing could measure it (a lost worker). */
  readonly cpuSeconds: number | null;
  /** Peak memory of the job's processes together (or container); null when unknown. */
  readonly peakMemoryBytes: number | null;
  readonly costUsd: number;
}

/** The price an attempt is charged at, fixed when it is claimed (recorded on the attempt, so whoever ends it charges the same). */
export interface CostRate {
  /** The pool's price per instance-hour (0 where none is configured, e.g. locally by default). */
  readonly usdPerInstanceHour: number;
  /** The attempt's share of the instance, 0..1. */
  readonly instanceShare: number;
}

/** The instance a worker runs on, as far as pricing needs it. */
export interface InstancePricing {
  readonly usdPerInstanceHour: number;
  /** GPUs of the instance; 0 makes it a CPU pool whose share is by vCPUs. */
  readonly gpus: number;
  readonly vcpus: number;
}

/** What the runtime measured of the job's processes; null where it could not. */
export interface MeasuredUse {
  readonly cpuSeconds: number | null;
  readonly peakMemoryBytes: number | null;
}

export const ZERO_RATE: CostRate = { usdPerInstanceHour: 0, instanceShare: 0 };

/** The share of `instance` a job asking for `resources` holds. */
export function instanceShare(resources: { readonly gpus: number; readonly cpu: number }, instance: Pick<InstancePricing, 'gpus' | 'vcpus'>): number {
  const share = instance.gpus > 0 ? resources.gpus / instance.gpus : instance.vcpus > 0 ? resources.cpu / instance.vcpus : 0;
  return Math.min(1, Math.max(0, share));
}

export function costRate(resources: { readonly gpus: number; readonly cpu: number }, instance: InstancePricing): CostRate {
  return { usdPerInstanceHour: instance.usdPerInstanceHour, instanceShare: instanceShare(resources, instance) };
}

/** USD for holding `share` of an instance priced `usdPerInstanceHour` for `seconds`. */
export function costUsd(rate: CostRate, seconds: number): number {
  return roundUsd((rate.usdPerInstanceHour * rate.instanceShare * seconds) / 3600);
}

/** Micro-dollars: enough for a one-second CPU job, and sums stay exact enough to compare. */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}

/** Milliseconds: wall and CPU seconds are kept to three decimals. */
function roundSeconds(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/** One attempt's usage, from its claim to `endedAt`. */
export function attemptUsage(input: {
  readonly startedAt: string;
  readonly endedAt: Date;
  readonly gpus: number;
  readonly rate: CostRate;
  readonly measured: MeasuredUse;
}): AttemptUsage {
  const wallSeconds = roundSeconds(Math.max(0, input.endedAt.getTime() - Date.parse(input.startedAt)) / 1000);
  return {
    wallSeconds,
    gpuSeconds: roundSeconds(wallSeconds * input.gpus),
    cpuSeconds: input.measured.cpuSeconds === null ? null : roundSeconds(input.measured.cpuSeconds),
    peakMemoryBytes: input.measured.peakMemoryBytes === null ? null : Math.round(input.measured.peakMemoryBytes),
    costUsd: costUsd(input.rate, wallSeconds),
  };
}

/**
 * The sum over attempts (null when none recorded usage). CPU seconds add up over the attempts that
 * measured them; peak memory is the largest peak: attempts run one after another.
 */
export function sumUsage(usages: readonly (AttemptUsage | undefined)[]): AttemptUsage | null {
  const known = usages.filter((u): u is AttemptUsage => u !== undefined);
  if (known.length === 0) return null;
  const cpu = known.map((u) => u.cpuSeconds).filter((c): c is number => c !== null);
  const memory = known.map((u) => u.peakMemoryBytes).filter((m): m is number => m !== null);
  return {
    wallSeconds: roundSeconds(known.reduce((s, u) => s + u.wallSeconds, 0)),
    gpuSeconds: roundSeconds(known.reduce((s, u) => s + u.gpuSeconds, 0)),
    cpuSeconds: cpu.length > 0 ? roundSeconds(cpu.reduce((s, c) => s + c, 0)) : null,
    peakMemoryBytes: memory.length > 0 ? Math.max(...memory) : null,
    costUsd: roundUsd(known.reduce((s, u) => s + u.costUsd, 0)),
  };
}
