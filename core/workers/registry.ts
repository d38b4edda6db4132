import type { InstancePricing } from '../usage/usage.ts';

/** One GPU of a worker's machine, as nvidia-smi reports it (core/worker/gpus.ts detects them). */
export interface Gpu {
  /** nvidia-smi's index; with CUDA_DEVICE_ORDER=PCI_BUS_ID (set in the worker image) CUDA numbers GPUs the same way. */
  index: number;
  uuid: string;
  name: string;
  /** MiB; 0 when the driver reports the value as unavailable. */
  memoryTotalMiB: number;
  /** MiB; 0 when the driver reports the value as unavailable. */
  memoryUsedMiB: number;
  /** Percent; null when unavailable (MIG mode, some virtualised or consumer GPUs). */
  utilizationPercent: number | null;
}

/** What a worker says about itself on every report; the registry keeps the latest. */
export interface WorkerRecord {
  readonly workerId: string;
  readonly pool: string;
  readonly hostname: string;
  readonly pid: number;
  readonly concurrency: number;
  readonly gpus: readonly Gpu[];
  readonly runningJobs: readonly string[];
  /**
   * The group of each running job (by id). Job ids open nothing, but which group runs what, and
   * when, is the group's business: callers outside a job's group see its slot as busy, not its id.
   */
  readonly runningJobGroups?: Readonly<Record<string, string>>;
  readonly startedAt: string;
  /** Last report (every few seconds while alive): "has anyone polled this queue lately?" */
  readonly lastSeenAt: string;
  /** True while the worker drains after SIGTERM: it takes no new work. */
  readonly draining: boolean;
  /**
   * What keeps this worker's jobs from the platform and from each other; `kind: none` means jobs
   * run with the worker's own identity (no sandbox on its machine). Optional: older workers omit it.
   */
  readonly isolation?: RuntimeIsolation;
  /** The worker's instance price and size (idle capacity is priced from it). Optional: older workers omit it. */
  readonly pricing?: InstancePricing;
  /**
   * Where the scheduler sends the jobs it admits to this worker (JobQueue.openInbox). Absent: the
   * worker polls the pool's shared queue (no scheduler, or an adapter without inboxes).
   */
  readonly inbox?: string;
}

export interface WorkerRegistry {
  report(record: WorkerRecord): Promise<void>;
  remove(workerId: string): Promise<void>;
  /** Workers of one pool that reported within `seenWithinMs`. */
  listWorkers(pool: string, seenWithinMs: number, now: Date): Promise<WorkerRecord[]>;
}

/** What keeps a worker's jobs from the platform and from each other (its JobRuntime says). */
export interface RuntimeIsolation {
  /** `none` = the job runs with the worker's own identity and sees what the worker sees. */
  readonly kind: 'none' | 'sandbox' | 'slot-user' | 'container';
  /** One line a person can act on: what the job can and cannot reach. */
  readonly summary: string;
}
