import type { JobFiles } from './job-files.ts';
import type { WorkerMetrics } from '../observability/metrics.ts';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CapacityRefusedError, JobNotFoundError, JobNotInStateError, LeaseLostError } from '../errors.ts';
import type { LogArchiveStore } from '../events/log-archive.ts';
import type { EventStore } from '../events/store.ts';
import { newLeaseId, systemClock, type Clock, type IdGenerator } from '../ids.ts';
import { isTerminal, type Job } from '../jobs/job.ts';
import type { JobStore } from '../jobs/store.ts';
import { recoverLostAttempt } from '../jobs/recovery.ts';
import { InboxGoneError, type JobQueue, type ReceivedJobMessage } from '../queue/job-queue.ts';
import type { JobRuntime } from '../runtime/job-runtime.ts';
import { ProcessRuntime } from '../runtime/process-runtime.ts';
import type { WorkerRegistry } from '../workers/registry.ts';
import type { StopCause } from './attempt-outcome.ts';
import { AttemptRunner, type WorkerLogger } from './attempt-runner.ts';
import { decideDelivery, decideGpuAdmission } from './delivery-decision.ts';
import { GpuAllocator, type Gpu } from './gpus.ts';
import { inheritedEnvironment } from './job-environment.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SchedulerKick } from '../scheduling/scheduler-kicker.ts';

/** After putting back a job it could not fit, a worker asks for a pass this much later (a stale view settles). */
const UNFIT_KICK_DELAY_MS = 1_000;
import { costRate, type InstancePricing } from '../usage/usage.ts';

export type { WorkerLogger } from './attempt-runner.ts';

export interface WorkerOptions {
  readonly pool: string;
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly events: EventStore;
  readonly workerId?: string;
  /** Jobs run at once by this worker. */
  readonly concurrency?: number;
  /**
   * Lease length = the visibility the worker keeps on the message (set at receive); both are
   * renewed together once less than a third of the lease is left (core/worker/lease-keeping.ts).
   */
  readonly leaseSeconds?: number;
  /** How often cancel requests and the lease are checked (at most 5 s per the lifecycle contract). */
  readonly heartbeatSeconds?: number;
  /** SIGTERM → SIGKILL grace when a job is cancelled or times out. */
  readonly killGraceSeconds?: number;
  readonly pollWaitSeconds?: number;
  /** Where each attempt gets a scratch directory. */
  readonly workRoot?: string;
  readonly keepWorkDirs?: boolean;
  readonly baseEnv?: Readonly<Record<string, string>>;
  readonly clock?: Clock;
  readonly newLeaseId?: IdGenerator;
  readonly log?: WorkerLogger;
  /** Observes each job process start (benchmarks measure dispatch latency with it; the local platform keeps the pid). */
  readonly onProcessStarted?: (job: Job, at: Date, pid: number | undefined) => void;
  /** Checked before anything is done for a job: why it must not run (an item no audited submit created), or null. */
  readonly admitJob?: (job: Job) => string | null;
  /** Dispatch latency, queue wait, output bytes and finished jobs by state (core/observability/metrics.ts). */
  readonly metrics?: WorkerMetrics;
  /** Output batcher flush interval while someone follows the job's output (default 200 ms). */
  readonly flushIntervalMs?: number;
  /**
   * The interval while nobody follows it (specs/05-output-batching.md, decision 17): default
   * 5 s, or flushIntervalMs when only that is given (one interval for all output).
   */
  readonly unwatchedFlushIntervalMs?: number;
  /** GPUs of this machine (detectGpus); each job gets its own through CUDA_VISIBLE_DEVICES. */
  readonly gpus?: readonly Gpu[];
  /** Where the worker reports itself (GET /v1/workers, "why is my job waiting?"). */
  readonly registry?: WorkerRegistry;
  readonly reportIntervalSeconds?: number;
  /** Called with true when the worker starts running jobs and false when it has none (ECS scale-in protection). */
  readonly setBusy?: (busy: boolean) => Promise<unknown>;
  /** Called on every poll: proof of life for a container health check. */
  readonly onPoll?: (() => void) | undefined;
  /** How jobs are run (a sandboxed process, a container); a plain child process by default. */
  readonly runtime?: JobRuntime;
  /** Fills work directories from archives and stores artifacts (absent: empty directories, no artifacts). */
  readonly jobFiles?: JobFiles | undefined;
  /** Where each attempt's complete output is archived when it ends (none: events only). */
  readonly logArchive?: LogArchiveStore;
  /**
   * Told of each array child's claim and end, so its parent's state follows and its next children
   * are materialised (core/jobs/array-coordinator.ts); absent: the maintenance sweep does it.
   */
  readonly arrays?: { childChanged(job: Job): Promise<void> };
  /**
   * The scheduler of this worker's pool: kicked when the worker joins and whenever an attempt ends
   * (capacity freed). With one, a job this worker cannot run now goes back on the pending list and
   * its message is deleted; without one (direct dispatch), the message is released for later.
   */
  readonly scheduler?: SchedulerKick;
  /**
   * The instance this worker runs on, for each attempt's cost (core/usage/usage.ts): its price per
   * hour (the stack's price table; RUNPLANE_PRICE_PER_INSTANCE_HOUR locally), GPUs and vCPUs.
   * Default: price 0, this machine's GPUs and CPUs.
   */
  readonly pricing?: Partial<InstancePricing>;
}

/** An inbox deleted again this soon after it was reopened is not reopened: the worker polls the pool's queue. */
const INBOX_REOPEN_WINDOW_MS = 60_000;

const DEFAULTS = {
  concurrency: 1,
  leaseSeconds: 60,
  heartbeatSeconds: 5,
  killGraceSeconds: 10,
  pollWaitSeconds: 20,
  unwatchedFlushIntervalMs: 5_000,
};

/**
 * Polls one pool's queue and runs each job it claims through its runtime (AttemptRunner).
 *
 * The effect on job state is exactly-once although delivery is at-least-once: the claim is a
 * conditional write on the attempt counter, every later write is fenced by the lease id, and the
 * message is deleted only after the final state (and all output) is stored. A crash at any point
 * leaves the message to reappear when its visibility (the lease) runs out.
 */
export class Worker {
  readonly workerId: string;
  private readonly options: WorkerOptions;
  private readonly concurrency: number;
  private readonly leaseSeconds: number;
  private readonly heartbeatMs: number;
  private readonly clock: Clock;
  private readonly newLeaseId: IdGenerator;
  private readonly log: WorkerLogger;
  private readonly runner: AttemptRunner;
  /** How this worker runs jobs; its isolation is reported with every registry record. */
  readonly runtime: JobRuntime;
  private readonly active = new Set<Promise<void>>();
  /** Running attempts by job id, so a stopping worker can hand them back. */
  private readonly attempts = new Map<string, (cause: StopCause) => void>();
  /** The group of each running job, reported so the API can hide other groups' jobs. */
  private readonly attemptGroups = new Map<string, string>();
  private loop: Promise<void> | undefined;
  /** This worker's own queue (JobQueue.openInbox), when it has one. */
  private inbox: string | undefined;
  /** When the inbox was last opened again after it was found deleted. */
  private inboxReopenedAtMs: number | undefined;
  private slotFreed: (() => void) | undefined;
  private stopping = false;
  private readonly gpus: GpuAllocator;
  private readonly startedAt: string;
  private reportTimer: NodeJS.Timeout | undefined;
  private busy = false;
  /** When the worker last had nothing to do, for idle exit; undefined while busy. */
  private idleSinceMs: number | undefined;
  /** What this worker's instance costs, and how it is shared among its jobs. */
  readonly pricing: InstancePricing;

  constructor(options: WorkerOptions) {
    this.options = options;
    this.workerId = options.workerId ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.concurrency = options.concurrency ?? DEFAULTS.concurrency;
    this.leaseSeconds = options.leaseSeconds ?? DEFAULTS.leaseSeconds;
    // Three heartbeats per lease at least; renewals start three heartbeats before expiry at the
    // latest, so one or two missed renewals never cost the lease.
    this.heartbeatMs = (options.heartbeatSeconds ?? Math.min(DEFAULTS.heartbeatSeconds, this.leaseSeconds / 3)) * 1000;
    this.clock = options.clock ?? systemClock;
    this.newLeaseId = options.newLeaseId ?? newLeaseId;
    this.log = options.log ?? (() => undefined);
    if (this.heartbeatMs >= this.leaseSeconds * 1000) {
      throw new RangeError('heartbeatSeconds must be shorter than leaseSeconds');
    }
    this.gpus = GpuAllocator.fromGpus(options.gpus ?? []);
    this.pricing = {
      usdPerInstanceHour: options.pricing?.usdPerInstanceHour ?? 0,
      gpus: options.pricing?.gpus ?? this.gpus.total,
      vcpus: options.pricing?.vcpus ?? availableParallelism(),
    };
    this.runtime = options.runtime ?? new ProcessRuntime();
    this.runner = new AttemptRunner({
      workerId: this.workerId,
      store: options.store,
      queue: options.queue,
      events: options.events,
      runtime: this.runtime,
      clock: this.clock,
      log: this.log,
      leaseSeconds: this.leaseSeconds,
      heartbeatMs: this.heartbeatMs,
      killGraceMs: (options.killGraceSeconds ?? DEFAULTS.killGraceSeconds) * 1000,
      workRoot: options.workRoot ?? join(tmpdir(), 'runplane-work'),
      keepWorkDirs: options.keepWorkDirs ?? false,
      baseEnv: options.baseEnv ?? inheritedEnvironment(process.env),
      pinGpus: this.gpus.total > 0,
      flushIntervalMs: options.flushIntervalMs,
      unwatchedFlushIntervalMs: options.unwatchedFlushIntervalMs ?? options.flushIntervalMs ?? DEFAULTS.unwatchedFlushIntervalMs,
      onProcessStarted: options.onProcessStarted,
      jobFiles: options.jobFiles,
      logArchive: options.logArchive,
      scheduled: options.scheduler !== undefined,
      metrics: options.metrics,
    });
    this.startedAt = this.clock().toISOString();
    this.idleSinceMs = this.clock().getTime();
  }

  /** Who this worker is in the audit chain. */
  private get actor(): string {
    return `worker:${this.workerId}`;
  }

  /** Milliseconds since the worker last ran a job (0 while it runs one). */
  idleForMs(): number {
    return this.idleSinceMs === undefined ? 0 : this.clock().getTime() - this.idleSinceMs;
  }

  get runningJobs(): number {
    return this.active.size;
  }

  start(): void {
    if (this.loop) return;
    // Containers left by a worker that died (SIGKILL, OOM, lost instance) go before any new work.
    this.orphansRemoved = this.removeOrphans();
    const ready = this.orphansRemoved.then(() => this.openInbox());
    this.loop = ready.then(() => this.pollLoop());
    if (this.options.registry) {
      // A worker that joins is capacity: the pass sees it once its first report (with its inbox) is in.
      void ready.then(() => this.report()).then(() => this.options.scheduler?.kick(this.options.pool));
      this.reportTimer = setInterval(() => void this.report(), (this.options.reportIntervalSeconds ?? 10) * 1000);
      this.reportTimer.unref();
    }
  }

  /**
   * With a scheduler, the jobs admitted to this worker come to a queue of its own (specs/11,
   * decision 12), so it never receives a job placed on another worker. Without one (direct
   * dispatch), or when the inbox cannot be opened, it polls the pool's shared queue.
   */
  private async openInbox(): Promise<void> {
    const { scheduler, registry, queue, pool } = this.options;
    if (!scheduler || !registry || !queue.openInbox) return;
    try {
      this.inbox = await queue.openInbox(pool, this.workerId);
    } catch (err) {
      this.log('warn', 'could not open this worker\'s inbox; polling the pool\'s queue', { error: String(err) });
    }
  }

  /**
   * The inbox was deleted under a live worker (the stale-inbox sweep took it while this worker
   * stalled past the sweep's window, or someone deleted it): the worker opens it again once and
   * reports the address, so the scheduler keeps sending there. Lost again within
   * INBOX_REOPEN_WINDOW_MS of reopening, it stops trying and polls the pool's shared queue (the
   * put-back rounds of decision 12's rejected (a), never a failure). Either way no receive spins on
   * a queue that is gone. The jobs whose messages went with the inbox stay admitted until the
   * admission sweeper's grace puts them back on the pending list.
   */
  private async inboxGone(): Promise<void> {
    const lost = this.inbox;
    this.inbox = undefined;
    const now = this.clock().getTime();
    const again = this.inboxReopenedAtMs !== undefined && now - this.inboxReopenedAtMs < INBOX_REOPEN_WINDOW_MS;
    if (again) {
      this.log('warn', 'this worker\'s inbox was deleted again soon after it was reopened; polling the pool\'s queue', { inbox: lost });
    } else {
      this.log('warn', 'this worker\'s inbox was deleted; opening it again', { inbox: lost });
      this.inboxReopenedAtMs = now;
      await this.openInbox();
    }
    await this.report();
    this.options.scheduler?.kick(this.options.pool);
  }

  /**
   * A stopping worker's inbox may still hold jobs admitted to it: each goes back on the pending
   * list (for another worker) and its message is deleted. A message that arrives after the last
   * look is lost with the inbox; its job stays admitted until the admission sweeper's grace.
   */
  private async handBackInbox(): Promise<void> {
    const { queue, store } = this.options;
    const inbox = this.inbox;
    if (!inbox) return;
    try {
      for (;;) {
        // A short poll: a stop must not wait (SQS may leave a message out of one; the sweeper has it).
        const messages = await queue.receive(inbox, { maxMessages: 10, waitSeconds: 0, visibilityTimeoutSeconds: this.leaseSeconds });
        if (messages.length === 0) return;
        await Promise.all(
          messages.map(async (m) => {
            const job = m.jobId ? await store.getJob(m.jobId) : undefined;
            if (job?.state === 'QUEUED' && job.admittedAt !== null) await this.unadmit(job);
            await queue.ack(m);
          }),
        );
      }
    } catch (err) {
      this.log('warn', 'could not hand back the jobs left in this worker\'s inbox', { error: String(err) });
    } finally {
      this.options.scheduler?.kick(this.options.pool);
    }
  }

  /** Resolves once the leftovers of earlier worker processes are gone (tests wait on it). */
  orphansRemoved: Promise<void> = Promise.resolve();

  private async removeOrphans(): Promise<void> {
    if (!this.runtime.removeOrphans) return;
    const { registry, pool } = this.options;
    try {
      const removed = await this.runtime.removeOrphans({
        workerId: this.workerId,
        pool,
        liveJobs: new Set(this.attempts.keys()),
        isLiveWorker: async (workerId) =>
          registry ? (await registry.listWorkers(pool, 60_000, this.clock())).some((w) => w.workerId === workerId) : true,
      });
      if (removed > 0) this.log('warn', 'removed containers no live attempt owns', { removed });
    } catch (err) {
      this.log('warn', 'could not look for orphaned containers', { error: String(err) });
    }
  }

  private async report(): Promise<void> {
    const now = this.clock();
    try {
      await this.options.registry?.report({
        workerId: this.workerId,
        pool: this.options.pool,
        hostname: hostname(),
        pid: process.pid,
        concurrency: this.concurrency,
        gpus: this.options.gpus ?? [],
        runningJobs: [...this.attempts.keys()],
        runningJobGroups: Object.fromEntries(this.attemptGroups),
        startedAt: this.startedAt,
        lastSeenAt: now.toISOString(),
        draining: this.stopping,
        isolation: this.runtime.isolation,
        pricing: this.pricing,
        ...(this.inbox ? { inbox: this.inbox } : {}),
      });
    } catch (err) {
      this.log('warn', 'worker report failed', { error: String(err) });
    }
  }

  /** Tells ECS (through setBusy) not to scale this task in while it runs jobs. */
  private async updateBusy(): Promise<void> {
    const busy = this.attempts.size > 0;
    if (busy) this.idleSinceMs = undefined;
    else this.idleSinceMs ??= this.clock().getTime();
    if (busy === this.busy || !this.options.setBusy) return;
    this.busy = busy;
    try {
      await this.options.setBusy(busy);
    } catch (err) {
      this.log('warn', 'could not update scale-in protection', { busy, error: String(err) });
    }
  }

  /**
   * Stops receiving (after the poll in flight, at most pollWaitSeconds), lets running jobs finish for up to `drainSeconds`, then hands the rest
   * back: their processes are stopped, their output kept, the job returns to QUEUED and its message
   * becomes visible immediately, so another worker resumes it without waiting for the lease to lapse.
   */
  async stop(options: { drainSeconds?: number } = {}): Promise<void> {
    this.stopping = true;
    this.slotFreed?.();
    if (this.options.registry) void this.report();
    await this.loop;
    await this.handBackInbox();
    const drained = Promise.allSettled([...this.active]);
    const drainMs = (options.drainSeconds ?? Number.POSITIVE_INFINITY) * 1000;
    if (Number.isFinite(drainMs)) {
      let timer: NodeJS.Timeout | undefined;
      const expired = await Promise.race([
        drained.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), drainMs))),
      ]);
      clearTimeout(timer);
      if (expired) for (const handBack of this.attempts.values()) handBack({ kind: 'handed-back' });
    }
    await Promise.allSettled([...this.active]);
    clearInterval(this.reportTimer);
    if (this.inbox) {
      // Admitted while the jobs drained (a pass that had not seen `draining` yet).
      await this.handBackInbox();
      await this.options.queue.closeInbox?.(this.inbox).catch((err: unknown) => this.log('warn', 'could not delete this worker\'s inbox', { error: String(err) }));
    }
    await this.removeOrphans();
    await this.options.registry?.remove(this.workerId).catch(() => undefined);
  }

  private async pollLoop(): Promise<void> {
    const { queue, pool } = this.options;
    while (!this.stopping) {
      this.options.onPoll?.();
      const free = this.concurrency - this.active.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      let messages: ReceivedJobMessage[];
      const waitSeconds = this.options.pollWaitSeconds ?? DEFAULTS.pollWaitSeconds;
      const receiving = { maxMessages: Math.min(free, 10), visibilityTimeoutSeconds: this.leaseSeconds };
      try {
        // With an inbox, the pool's shared queue still gets a short poll each round: what reaches
        // it (a sweeper's re-send, a job an API without a scheduler sent, a lease-expired message
        // of a worker without an inbox) must not wait for a worker that never looks there. The
        // long poll stays on the inbox, where the scheduler sends.
        messages = this.inbox ? await queue.receive(pool, { ...receiving, waitSeconds: 0 }) : [];
        if (messages.length === 0) messages = await queue.receive(this.inbox ?? pool, { ...receiving, waitSeconds });
      } catch (err) {
        if (err instanceof InboxGoneError && err.inbox === this.inbox) {
          await this.inboxGone();
          continue;
        }
        this.log('warn', 'receive failed; backing off', { error: String(err) });
        await sleep(1_000);
        continue;
      }
      if (this.stopping) {
        // The poll is never aborted mid-flight (SQS would still hand messages to a request we
        // abandoned, hiding them for a whole lease); what it brought back after stop() goes back.
        await Promise.allSettled(messages.map((m) => queue.release(m, 0)));
        break;
      }
      for (const message of messages) {
        const task = this.handle(message)
          .catch((err: unknown) => this.log('error', 'job handling failed', { jobId: message.jobId, error: String(err) }))
          .finally(() => {
            this.active.delete(task);
            this.slotFreed?.();
          });
        this.active.add(task);
      }
    }
  }

  /** One delivery: decide from the stored job what this message means, then act on it exactly once. */
  private async handle(message: ReceivedJobMessage): Promise<void> {
    const { store, queue } = this.options;
    let job = message.jobId ? await store.getJob(message.jobId) : undefined;
    if (job?.array) {
      // An array parent is never run: its children are the jobs (a stray message of it is dropped).
      await queue.ack(message);
      return;
    }
    const refusal = job && !isTerminal(job.state) ? (this.options.admitJob?.(job) ?? null) : null;
    if (job && refusal) {
      // Not a job of this deployment (an item no audited submit created): nothing is written for
      // it, and its message is dropped.
      this.log('error', 'refusing to run job', { jobId: job.id, reason: refusal });
      await queue.ack(message);
      return;
    }
    let waitedForLease = false;
    let recovered = false;
    for (;;) {
      const decision = decideDelivery(job, this.clock().getTime(), waitedForLease);
      switch (decision.action) {
        case 'drop-unknown':
          this.log('warn', 'dropping message for unknown job', { jobId: message.jobId });
          await queue.ack(message);
          return;
        case 'ack-finished':
        case 'ack-held':
          await queue.ack(message);
          return;
        case 'wait-for-lease':
          await queue.extendVisibility(message, Math.ceil(decision.remainingMs / 1000) + this.leaseSeconds);
          await sleep(Math.min(decision.remainingMs, this.leaseSeconds * 1000) + 100);
          job = await store.getJob(job!.id);
          waitedForLease = true;
          continue;
        case 'release-duplicate':
          await queue.release(message, this.leaseSeconds);
          return;
        case 'recover-lost-attempt': {
          if (recovered) throw new Error(`job ${job!.id} still RUNNING after its lost attempt was recovered`);
          const lost = job!;
          try {
            job = await recoverLostAttempt(store, lost, this.clock, this.actor);
          } catch (err) {
            if (err instanceof LeaseLostError || err instanceof JobNotFoundError) {
              await queue.release(message, 1);
              return;
            }
            throw err;
          }
          recovered = true;
          this.log('warn', 'recovered attempt of a lost worker', { jobId: lost.id, attempt: lost.attempt, state: job.state });
          continue;
        }
        case 'claim':
          await this.admitAndRun(job!, message);
          return;
      }
    }
  }

  private async admitAndRun(claimable: Job, message: ReceivedJobMessage): Promise<void> {
    const wanted = claimable.resources.gpus;
    const admission = decideGpuAdmission(wanted, this.gpus.total);
    if (!admission.admit) {
      this.log('warn', 'job needs more GPUs than this worker has', { jobId: claimable.id, wanted, have: this.gpus.total });
      await this.putBack(claimable, message, admission.retryAfterSeconds, UNFIT_KICK_DELAY_MS);
      return;
    }
    const gpuIndices = this.gpus.allocate(wanted);
    if (!gpuIndices) {
      await this.putBack(claimable, message, 2, UNFIT_KICK_DELAY_MS);
      return;
    }
    try {
      await this.claimAndRun(claimable, message, gpuIndices);
    } finally {
      this.gpus.release(gpuIndices);
    }
  }

  private async claimAndRun(claimable: Job, message: ReceivedJobMessage, gpuIndices: number[]): Promise<void> {
    const { store, queue } = this.options;
    const leaseId = this.newLeaseId();
    let running: Job;
    try {
      running = await store.claimAttempt({
        jobId: claimable.id,
        group: claimable.group,
        workerId: this.workerId,
        leaseId,
        leaseExpiresAt: this.clock().getTime() + this.leaseSeconds * 1000,
        expectedAttempt: claimable.attempt,
        now: this.clock(),
        actor: this.actor,
        job: claimable,
        costRate: costRate(claimable.resources, this.pricing),
      });
    } catch (err) {
      if (err instanceof CapacityRefusedError) {
        // A quota or an array's parallelism is full: the job waits in the queue, not on this worker.
        this.log('info', 'claim refused by a capacity limit', { jobId: claimable.id, waiting: err.waitingCode });
        // The limit frees when a job of the group (or array) ends, and that end kicks a pass.
        await this.putBack(claimable, message, 5, null);
        return;
      }
      if (err instanceof JobNotInStateError || err instanceof JobNotFoundError) {
        // Someone else changed it between our read and our claim; the next delivery re-decides.
        await queue.release(message, 1);
        return;
      }
      throw err;
    }
    // The parent starts when its first child does; the next child is materialised meanwhile.
    const claimed = running.arrayChild ? this.options.arrays?.childChanged(running) : undefined;
    try {
      await this.runner.run({ job: running, leaseId, message, gpuIndices }, (stop) => {
        this.attempts.set(running.id, stop);
        this.attemptGroups.set(running.id, running.group);
        void this.updateBusy();
      });
    } finally {
      this.attempts.delete(running.id);
      this.attemptGroups.delete(running.id);
      void this.updateBusy();
      if (running.arrayChild) {
        await claimed;
        await this.options.arrays?.childChanged(running);
      }
      // Capacity freed (and a retry may be pending): the next job should start now, not at the next poll.
      this.options.scheduler?.kick(this.options.pool);
    }
  }

  /**
   * A job this worker cannot run now. With a scheduler: back on the pending list and the message
   * deleted, so waiting spends no receives and never dead-letters; a pass after `kickAfterMs`
   * (null: none, the freeing end kicks) places it again. Without one: the message released for later.
   */
  private async putBack(job: Job, message: ReceivedJobMessage, releaseSeconds: number, kickAfterMs: number | null): Promise<void> {
    const { scheduler, queue } = this.options;
    if (!scheduler) {
      await queue.release(message, releaseSeconds);
      return;
    }
    await this.unadmit(job);
    await queue.ack(message);
    if (kickAfterMs !== null) scheduler.kick(this.options.pool, kickAfterMs);
  }

  /**
   * Admitted → pending, so that deleting its message never strands the job: the write's condition
   * holds the priority read with the job (the pending sort key embeds it), so a priority changed
   * since fails it, and the job is read again and put back at its new priority. Any other failure
   * means it moved on (claimed, cancelled, pending already) and the message is spent either way.
   */
  private async unadmit(job: Job): Promise<void> {
    const { store } = this.options;
    let current: Job | undefined = job;
    for (let round = 0; round < 4; round++) {
      if (await store.unadmitJob(current)) return;
      current = await store.getJob(job.id);
      if (!current || current.state !== 'QUEUED' || current.attempt !== job.attempt || current.admittedAt === null) return;
    }
    this.log('warn', 'could not put a job back on the pending list; the admission sweeper will', { jobId: job.id });
  }
}
