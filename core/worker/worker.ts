import { mkdir, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DependencyError, JobNotFoundError, JobNotInStateError, LeaseLostError } from '../errors.ts';
import { OutputBatcher } from '../events/output-batcher.ts';
import type { LogArchiveStore, OutputArchiveRecord } from '../events/log-archive.ts';
import type { EventStore } from '../events/store.ts';
import { newLeaseId, systemClock, type Clock, type IdGenerator } from '../ids.ts';
import { isTerminal, type Job } from '../jobs/job.ts';
import type { FinalState, JobStore } from '../jobs/store.ts';
import { recoverLostAttempt } from '../jobs/recovery.ts';
import { decideRetry, type AttemptFailure } from '../jobs/retry-policy.ts';
import type { JobQueue, ReceivedJobMessage } from '../queue/job-queue.ts';
import type { WorkerRegistry } from '../workers/registry.ts';
import { AttemptLogArchive } from './attempt-log-archive.ts';
import { GpuAllocator, type Gpu } from './gpus.ts';
import { inheritedEnvironment, jobEnvironment } from './job-environment.ts';
import { spawnJobProcess, type ProcessExit, type RunningProcess } from './process-runner.ts';

export type WorkerLogger = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface WorkerOptions {
  readonly pool: string;
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly events: EventStore;
  readonly workerId?: string;
  /** Jobs run at once by this worker. */
  readonly concurrency?: number;
  /** Lease length = the visibility the worker keeps on the message; renewed every heartbeat. */
  readonly leaseSeconds?: number;
  /** How often the lease is renewed and cancel requests are checked (at most 5 s per the lifecycle contract). */
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
  /** Observes each job process start (benchmarks measure dispatch latency with it). */
  readonly onProcessStarted?: (job: Job, at: Date) => void;
  /** Output batcher flush interval. */
  readonly flushIntervalMs?: number;
  /** GPUs of this machine (detectGpus); each job gets its own through CUDA_VISIBLE_DEVICES. */
  readonly gpus?: readonly Gpu[];
  /** Where the worker reports itself (GET /v1/workers, "why is my job waiting?"). */
  readonly registry?: WorkerRegistry;
  readonly reportIntervalSeconds?: number;
  /** Called with true when the worker starts running jobs and false when it has none (ECS scale-in protection). */
  readonly setBusy?: (busy: boolean) => Promise<unknown>;
  /** Called on every poll: proof of life for a container health check. */
  readonly onPoll?: (() => void) | undefined;
  /** Where each attempt's complete output is archived when it ends (none: events only). */
  readonly logArchive?: LogArchiveStore;
}

/** The attempt's archived output, when there is one, for the write that ends the attempt. */
type ArchivedOutput = { readonly logArchive?: OutputArchiveRecord };

const DEFAULTS = {
  concurrency: 1,
  leaseSeconds: 60,
  heartbeatSeconds: 5,
  killGraceSeconds: 10,
  pollWaitSeconds: 20,
};

type StopCause =
  | { kind: 'cancelled'; by: string }
  | { kind: 'timed-out'; after: number }
  | { kind: 'lease-lost' }
  | { kind: 'handed-back' };

/**
 * Polls one pool's queue and runs each job it claims as a child process.
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
  private readonly killGraceMs: number;
  private readonly clock: Clock;
  private readonly newLeaseId: IdGenerator;
  private readonly log: WorkerLogger;
  private readonly baseEnv: Readonly<Record<string, string>>;
  private readonly active = new Set<Promise<void>>();
  /** Running attempts by job id, so a stopping worker can hand them back. */
  private readonly attempts = new Map<string, (cause: StopCause) => void>();
  private loop: Promise<void> | undefined;
  private slotFreed: (() => void) | undefined;
  private stopping = false;
  private readonly gpus: GpuAllocator;
  private readonly startedAt: string;
  private reportTimer: NodeJS.Timeout | undefined;
  private busy = false;
  /** When the worker last had nothing to do, for idle exit; undefined while busy. */
  private idleSinceMs: number | undefined;

  constructor(options: WorkerOptions) {
    this.options = options;
    this.workerId = options.workerId ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.concurrency = options.concurrency ?? DEFAULTS.concurrency;
    this.leaseSeconds = options.leaseSeconds ?? DEFAULTS.leaseSeconds;
    // Three heartbeats per lease at least, so one or two missed renewals never cost the lease.
    this.heartbeatMs = (options.heartbeatSeconds ?? Math.min(DEFAULTS.heartbeatSeconds, this.leaseSeconds / 3)) * 1000;
    this.killGraceMs = (options.killGraceSeconds ?? DEFAULTS.killGraceSeconds) * 1000;
    this.clock = options.clock ?? systemClock;
    this.newLeaseId = options.newLeaseId ?? newLeaseId;
    this.log = options.log ?? (() => undefined);
    this.baseEnv = options.baseEnv ?? inheritedEnvironment(process.env);
    if (this.heartbeatMs >= this.leaseSeconds * 1000) {
      throw new RangeError('heartbeatSeconds must be shorter than leaseSeconds');
    }
    this.gpus = GpuAllocator.fromGpus(options.gpus ?? []);
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
    this.loop = this.pollLoop();
    if (this.options.registry) {
      void this.report();
      this.reportTimer = setInterval(() => void this.report(), (this.options.reportIntervalSeconds ?? 10) * 1000);
      this.reportTimer.unref();
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
        startedAt: this.startedAt,
        lastSeenAt: now.toISOString(),
        draining: this.stopping,
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
      try {
        messages = await queue.receive(pool, {
          maxMessages: Math.min(free, 10),
          waitSeconds: this.options.pollWaitSeconds ?? DEFAULTS.pollWaitSeconds,
          visibilityTimeoutSeconds: this.leaseSeconds,
        });
      } catch (err) {
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
    const job = message.jobId ? await store.getJob(message.jobId) : undefined;
    if (!job) {
      // A message with no job behind it can never succeed; deleting it keeps the queue clean.
      this.log('warn', 'dropping message for unknown job', { jobId: message.jobId });
      await queue.ack(message);
      return;
    }
    if (isTerminal(job.state)) {
      await queue.ack(message);
      return;
    }
    let claimable = job;
    if (job.state === 'RUNNING') {
      const remainingMs = (job.lease?.expiresAt ?? 0) - this.clock().getTime();
      if (remainingMs > 0) {
        // The message is visible again, so its holder stopped extending it: most likely a lost
        // worker whose lease is about to run out. Keep the delivery and wait for the lease rather
        // than hand it back, which would spend one of the message's receives (maxReceiveCount).
        await queue.extendVisibility(message, Math.ceil(remainingMs / 1000) + this.leaseSeconds);
        await sleep(Math.min(remainingMs, this.leaseSeconds * 1000) + 100);
        const again = await store.getJob(job.id);
        if (!again || isTerminal(again.state)) {
          await queue.ack(message);
          return;
        }
        if (again.state === 'RUNNING' && again.lease && again.lease.expiresAt > this.clock().getTime()) {
          // The holder is alive and renewing: this was a duplicate delivery. Look again later.
          await queue.release(message, this.leaseSeconds);
          return;
        }
        claimable = again;
      }
    }
    if (claimable.state === 'RUNNING') {
      // The message came back because its worker stopped heartbeating: end that attempt first.
      try {
        claimable = await recoverLostAttempt(store, claimable, this.clock, this.actor);
      } catch (err) {
        if (err instanceof LeaseLostError || err instanceof JobNotFoundError) {
          await queue.release(message, 1);
          return;
        }
        throw err;
      }
      this.log('warn', 'recovered attempt of a lost worker', { jobId: job.id, attempt: job.attempt, state: claimable.state });
      if (claimable.state !== 'QUEUED') {
        await queue.ack(message);
        return;
      }
    }
    // GPU admission: a job gets GPUs of its own or waits for another worker or for GPUs to free up.
    const wanted = claimable.resources.gpus;
    if (wanted > 0 && wanted > this.gpus.total) {
      this.log('warn', 'job needs more GPUs than this worker has', { jobId: claimable.id, wanted, have: this.gpus.total });
      await queue.release(message, 10);
      return;
    }
    const gpuIndices = this.gpus.allocate(wanted);
    if (!gpuIndices) {
      await queue.release(message, 2);
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
      });
    } catch (err) {
      if (err instanceof JobNotInStateError || err instanceof JobNotFoundError) {
        // Someone else changed it between our read and our claim; the next delivery re-decides.
        await queue.release(message, 1);
        return;
      }
      throw err;
    }
    await this.runAttempt(running, leaseId, message, gpuIndices);
  }

  private async runAttempt(job: Job, leaseId: string, message: ReceivedJobMessage, gpuIndices: number[]): Promise<void> {
    const { store, events, queue } = this.options;
    const attempt = job.attempt;
    const workDir = join(this.options.workRoot ?? join(tmpdir(), 'runplane-work'), `${job.id}-${attempt}`);
    await mkdir(workDir, { recursive: true });
    const logArchive = this.options.logArchive
      ? new AttemptLogArchive(this.options.logArchive, job.id, attempt, captureDirOf(workDir), this.log)
      : undefined;
    const batcher = new OutputBatcher({
      sink: logArchive?.sink(events) ?? events,
      jobId: job.id,
      attempt,
      clock: this.clock,
      ...(this.options.flushIntervalMs !== undefined ? { flushIntervalMs: this.options.flushIntervalMs } : {}),
    });
    let stopCause: StopCause | undefined;
    let process: RunningProcess | undefined;
    const stopProcess = (cause: StopCause) => {
      if (stopCause) return;
      stopCause = cause;
      process?.signal('SIGTERM');
      const escalate = setTimeout(() => process?.signal('SIGKILL'), cause.kind === 'lease-lost' ? 0 : this.killGraceMs);
      escalate.unref();
    };

    this.attempts.set(job.id, stopProcess);
    void this.updateBusy();
    const heartbeat = setInterval(() => {
      void this.heartbeat(job, leaseId, message, stopProcess);
    }, this.heartbeatMs);
    const timeout = setTimeout(() => stopProcess({ kind: 'timed-out', after: job.timeoutSeconds }), job.timeoutSeconds * 1000);

    try {
      let exit: ProcessExit;
      try {
        process = spawnJobProcess({
          argv: job.command,
          env: jobEnvironment({
            base: this.baseEnv,
            jobEnv: job.env,
            jobId: job.id,
            attempt,
            workDir,
            // Pin only on a GPU machine; elsewhere CUDA_VISIBLE_DEVICES stays as the user set it.
            ...(this.gpus.total > 0 ? { gpuIndices } : {}),
          }),
          cwd: workDir,
          captureDir: captureDirOf(workDir),
          onOutput: (stream, chunk) => batcher.write(stream, chunk),
          whenWritable: () => batcher.waitForDrain(),
        });
        batcher.lifecycle('started', { workerId: this.workerId, pid: process.pid ?? null, command: job.command });
        this.options.onProcessStarted?.(job, this.clock());
        exit = await process.exited;
      } finally {
        clearTimeout(timeout);
      }

      const outcome = decideOutcome(exit, stopCause);
      if (stopCause?.kind === 'lease-lost') {
        // Fenced out: a newer attempt owns the job. Write nothing more, not even our buffered output.
        const dropped = batcher.abort();
        this.log('warn', 'lease lost; attempt abandoned', { jobId: job.id, attempt, droppedEvents: dropped });
        return;
      }
      batcher.lifecycle('exited', { exitCode: exit.exitCode, signal: exit.signal, reason: outcome.reason });
      // Output first: a job is never reported finished before every line it printed is stored
      // (and archived). The heartbeat keeps the lease alive meanwhile, however slow the stores are.
      await batcher.close();
      const archived = await logArchive?.upload();
      const logArchiveRecord = archived ? { logArchive: archived } : {};
      if (stopCause?.kind === 'handed-back') {
        await this.handBack(job, leaseId, message, logArchiveRecord);
        return;
      }
      const retry = outcome.failure ? decideRetry(job, outcome.failure) : { retry: false as const };
      if (retry.retry) {
        await this.requeueForRetry(job, leaseId, message, exit.exitCode, outcome.reason, retry.delaySeconds, logArchiveRecord);
        return;
      }
      try {
        await retryDependency(() =>
          store.finishAttempt({
            jobId: job.id,
            group: job.group,
            leaseId,
            attempt,
            to: outcome.state,
            exitCode: exit.exitCode,
            reason: outcome.reason,
            now: this.clock(),
            actor: this.actor,
            ...logArchiveRecord,
          }),
        );
      } catch (err) {
        if (err instanceof LeaseLostError) {
          this.log('warn', 'lease lost before completion was recorded', { jobId: job.id, attempt });
          return;
        }
        throw err;
      }
      clearInterval(heartbeat);
      await queue.ack(message);
      this.log('info', 'job finished', { jobId: job.id, attempt, state: outcome.state, reason: outcome.reason });
    } finally {
      clearInterval(heartbeat);
      this.attempts.delete(job.id);
      void this.updateBusy();
      await this.cleanup(workDir);
    }
  }

  /** A stopping worker's unfinished attempt goes back to the queue at once, under a fresh message. */
  private async handBack(job: Job, leaseId: string, message: ReceivedJobMessage, archived: ArchivedOutput) {
    await this.requeue(job, leaseId, message, {
      exitCode: null,
      reason: `handed back by ${this.workerId} (worker stopping)`,
      delaySeconds: 0,
      ...archived,
    });
    this.log('info', 'job handed back', { jobId: job.id, attempt: job.attempt });
  }

  private async requeueForRetry(
    job: Job,
    leaseId: string,
    message: ReceivedJobMessage,
    exitCode: number | null,
    reason: string,
    delaySeconds: number,
    archived: ArchivedOutput,
  ) {
    await this.requeue(job, leaseId, message, {
      exitCode,
      reason: `${reason}; retrying in ${delaySeconds} s (attempt ${job.attempt + 1} of ${job.maxAttempts})`,
      delaySeconds,
      ...archived,
    });
    this.log('info', 'job will retry', { jobId: job.id, attempt: job.attempt, delaySeconds });
  }

  /**
   * RUNNING → QUEUED, then a fresh message (delayed by the backoff) replaces the current delivery,
   * so SQS's receive count measures one attempt's deliveries, not the job's whole life. If the send
   * fails, the current delivery is kept and made visible after the same delay instead.
   */
  private async requeue(
    job: Job,
    leaseId: string,
    message: ReceivedJobMessage,
    plan: { exitCode: number | null; reason: string; delaySeconds: number } & ArchivedOutput,
  ) {
    const { store, queue } = this.options;
    const now = this.clock();
    try {
      await retryDependency(() =>
        store.requeueAttempt({
          jobId: job.id,
          group: job.group,
          leaseId,
          attempt: job.attempt,
          exitCode: plan.exitCode,
          reason: plan.reason,
          retryAt: plan.delaySeconds > 0 ? new Date(now.getTime() + plan.delaySeconds * 1000).toISOString() : null,
          now,
          actor: this.actor,
          ...(plan.logArchive ? { logArchive: plan.logArchive } : {}),
        }),
      );
    } catch (err) {
      if (!(err instanceof LeaseLostError)) throw err;
      // Still our lease but refused: a cancel arrived meanwhile, so the attempt ends CANCELLED instead.
      if (err.found.leaseId !== leaseId) return;
      const current = await store.getJob(job.id);
      await retryDependency(() =>
        store.finishAttempt({
          jobId: job.id,
          group: job.group,
          leaseId,
          attempt: job.attempt,
          to: 'CANCELLED',
          exitCode: plan.exitCode,
          reason: `cancelled by ${current ? cancelActor(current) : 'a user'}`,
          now: this.clock(),
          actor: this.actor,
          ...(plan.logArchive ? { logArchive: plan.logArchive } : {}),
        }),
      ).catch((e: unknown) => {
        if (!(e instanceof LeaseLostError)) throw e;
      });
      await queue.ack(message);
      return;
    }
    try {
      await queue.enqueue(job.queue, { jobId: job.id }, { delaySeconds: plan.delaySeconds });
    } catch (err) {
      this.log('warn', 'could not send a fresh message; reusing the current one', { jobId: job.id, error: String(err) });
      await queue.release(message, plan.delaySeconds);
      return;
    }
    await queue.ack(message);
  }

  private async heartbeat(job: Job, leaseId: string, message: ReceivedJobMessage, stop: (cause: StopCause) => void) {
    const { store, queue } = this.options;
    try {
      const current = await store.renewLease(job.id, leaseId, this.clock().getTime() + this.leaseSeconds * 1000);
      await queue.extendVisibility(message, this.leaseSeconds);
      if (current.cancelRequested) stop({ kind: 'cancelled', by: cancelActor(current) });
    } catch (err) {
      if (err instanceof LeaseLostError || err instanceof JobNotFoundError) {
        stop({ kind: 'lease-lost' });
        return;
      }
      // A missed heartbeat is survivable while the lease lasts; the next one tries again.
      this.log('warn', 'heartbeat failed', { jobId: job.id, error: String(err) });
    }
  }

  private async cleanup(workDir: string) {
    if (this.options.keepWorkDirs) return;
    for (const dir of [workDir, captureDirOf(workDir)]) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The attempt's output files live beside its working directory, never inside it. */
function captureDirOf(workDir: string): string {
  return `${workDir}.output`;
}

function cancelActor(job: Job): string {
  return job.cancelRequestedBy ?? 'a user';
}

export interface AttemptOutcome {
  readonly state: FinalState;
  readonly reason: string;
  /** Set when the attempt failed; the retry policy reads it. */
  readonly failure?: AttemptFailure;
}

export function decideOutcome(exit: ProcessExit, stop: StopCause | undefined): AttemptOutcome {
  if (stop?.kind === 'cancelled') return { state: 'CANCELLED', reason: `cancelled by ${stop.by}`, failure: { kind: 'cancelled' } };
  if (stop?.kind === 'timed-out') {
    return { state: 'TIMED_OUT', reason: `timed out after ${stop.after} s`, failure: { kind: 'timed-out' } };
  }
  if (exit.spawnError) {
    return { state: 'FAILED', reason: `could not start: ${exit.spawnError}`, failure: { kind: 'could-not-start' } };
  }
  if (exit.exitCode === 0) return { state: 'SUCCEEDED', reason: 'exited with code 0' };
  if (exit.exitCode !== null) {
    return { state: 'FAILED', reason: `exited with code ${exit.exitCode}`, failure: { kind: 'exit', exitCode: exit.exitCode } };
  }
  const signal = exit.signal ?? 'unknown';
  return { state: 'FAILED', reason: `killed by signal ${signal}`, failure: { kind: 'signal', signal } };
}

/** Retries writes that failed for a transient reason; a domain answer (lease lost) ends it at once. */
async function retryDependency<T>(fn: () => Promise<T>, tries = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof DependencyError) || i >= tries) throw err;
      await sleep(Math.min(5_000, 100 * 2 ** i) * (0.5 + Math.random() / 2));
    }
  }
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
