import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { JobNotFoundError, LeaseLostError } from '../errors.ts';
import { OutputBatcher } from '../events/output-batcher.ts';
import type { LogArchiveStore, OutputArchiveRecord } from '../events/log-archive.ts';
import type { EventStore } from '../events/store.ts';
import type { Clock } from '../ids.ts';
import type { Job } from '../jobs/job.ts';
import type { JobStore } from '../jobs/store.ts';
import type { JobQueue, ReceivedJobMessage } from '../queue/job-queue.ts';
import type { JobExit, JobRuntime, RunningJob } from '../runtime/job-runtime.ts';
import { AttemptLogArchive } from './attempt-log-archive.ts';
import { planAttemptEnd, type StopCause } from './attempt-outcome.ts';
import { jobEnvironment } from './job-environment.ts';
import { retryDependency } from '../retry.ts';
import { notStartedJob, type JobFiles } from './job-files.ts';
import type { WorkerMetrics } from '../observability/metrics.ts';
import { attemptStartMeasures } from './attempt-measures.ts';
import { heartbeatStep, judgeStatus, renewWithinMs } from './lease-keeping.ts';
import { attemptUsageRecord } from '../jobs/attempt-usage.ts';
import type { UsageRecord } from '../usage/usage-record.ts';

export type WorkerLogger = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface AttemptRunnerOptions {
  readonly workerId: string;
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly events: EventStore;
  readonly runtime: JobRuntime;
  readonly clock: Clock;
  readonly log: WorkerLogger;
  readonly leaseSeconds: number;
  readonly heartbeatMs: number;
  readonly killGraceMs: number;
  readonly workRoot: string;
  readonly keepWorkDirs: boolean;
  readonly baseEnv: Readonly<Record<string, string>>;
  /** Whether this machine has GPUs: only then is CUDA_VISIBLE_DEVICES pinned. */
  readonly pinGpus: boolean;
  readonly flushIntervalMs?: number | undefined;
  /** The batcher's interval while nobody follows the job's output (OutputBatcherOptions). */
  readonly unwatchedFlushIntervalMs?: number | undefined;
  readonly onProcessStarted?: ((job: Job, at: Date, pid: number | undefined) => void) | undefined;
  /** Work directories in, artifacts out (core/worker/job-files.ts). */
  readonly jobFiles?: JobFiles | undefined;
  /** Where each attempt's complete output is archived when it ends (none: events only). */
  readonly logArchive?: LogArchiveStore | undefined;
  /**
   * A scheduler admits requeued jobs (their backoff included): the requeue only puts the job back
   * on the pending list and deletes the delivery. False: a fresh, delayed message is sent instead.
   */
  readonly scheduled?: boolean;
  readonly metrics?: WorkerMetrics | undefined;
}

/** The attempt's archived output, when there is one, for the write that ends the attempt. */
type ArchivedOutput = { readonly logArchive?: OutputArchiveRecord };

/** One claimed attempt: the job, its lease, the delivery that brought it, the GPUs it was given. */
export interface ClaimedAttempt {
  readonly job: Job;
  readonly leaseId: string;
  readonly message: ReceivedJobMessage;
  readonly gpuIndices: readonly number[];
}

/**
 * Runs one claimed attempt to its end: starts it through the runtime, keeps its lease alive,
 * stops it on cancel, timeout, lost lease or hand-back, stores all its output, then records the
 * final state or requeues it. Every write is fenced by the lease id.
 */
export class AttemptRunner {
  private readonly o: AttemptRunnerOptions;

  constructor(options: AttemptRunnerOptions) {
    this.o = options;
  }

  private get actor(): string {
    return `worker:${this.o.workerId}`;
  }

  /** `onStoppable` receives the attempt's stop function while it runs (the worker hands attempts back with it). */
  async run(claim: ClaimedAttempt, onStoppable: (stop: (cause: StopCause) => void) => void): Promise<void> {
    const { job, leaseId, message } = claim;
    const attempt = job.attempt;
    const claimedAt = this.o.clock().getTime();
    const workDir = join(this.o.workRoot, `${job.id}-${attempt}`);
    // The root is traversable but not listable, each attempt's directory private to it: a job
    // reaches its own directory, never another's.
    await mkdir(this.o.workRoot, { recursive: true, mode: 0o711 });
    await mkdir(workDir, { recursive: true, mode: 0o700 });
    const logArchive = this.o.logArchive
      ? new AttemptLogArchive(this.o.logArchive, job.id, attempt, `${workDir}.log-archive`, this.o.log)
      : undefined;
    const batcher = new OutputBatcher({
      sink: logArchive?.sink(this.o.events) ?? this.o.events,
      jobId: job.id,
      attempt,
      clock: this.o.clock,
      ...(this.o.flushIntervalMs !== undefined ? { flushIntervalMs: this.o.flushIntervalMs } : {}),
      ...(this.o.unwatchedFlushIntervalMs !== undefined ? { unwatchedFlushIntervalMs: this.o.unwatchedFlushIntervalMs } : {}),
    });
    // A follower who was already polling (`submit --follow`) gets output at once from the start.
    if (job.outputWatchedUntil !== undefined) batcher.watchUntil(job.outputWatchedUntil);
    let stopCause: StopCause | undefined;
    let running: RunningJob | undefined;
    let outputBytes = 0;
    const signalJob = (cause: StopCause) => {
      running?.stop('SIGTERM');
      const escalate = setTimeout(() => running?.stop('SIGKILL'), cause.kind === 'lease-lost' ? 0 : this.o.killGraceMs);
      escalate.unref();
    };
    const stop = (cause: StopCause) => {
      if (stopCause) return;
      stopCause = cause;
      signalJob(cause);
    };

    onStoppable(stop);
    const lease = { expiresAtMs: job.lease?.expiresAt ?? claimedAt + this.o.leaseSeconds * 1000 };
    const watch = (untilMs: number | null | undefined) => {
      if (typeof untilMs === 'number') batcher.watchUntil(untilMs);
    };
    const heartbeat = setInterval(() => void this.heartbeat(claim, lease, stop, watch), this.o.heartbeatMs);
    const timeout = setTimeout(() => stop({ kind: 'timed-out', after: job.timeoutSeconds }), job.timeoutSeconds * 1000);

    try {
      let exit: JobExit;
      try {
        // The heartbeat already runs: a long download keeps the lease.
        const notReady = await this.o.jobFiles?.prepare(job, workDir);
        running = notReady !== undefined ? notStartedJob(notReady) : await this.o.runtime.start({
          jobId: job.id,
          attempt,
          workerId: this.o.workerId,
          pool: job.queue,
          argv: job.command,
          env: jobEnvironment({
            // A container job's environment is its spec's and Runplane's only: the image supplies
            // PATH and the rest, and nothing of the worker's reaches it.
            base: job.image ? {} : this.o.baseEnv,
            jobEnv: job.env,
            jobId: job.id,
            attempt,
            workDir,
            arrayChild: job.arrayChild ?? null,
            // Pin only on a GPU machine; elsewhere CUDA_VISIBLE_DEVICES stays as the user set it.
            // A container sees only its own GPUs (DeviceRequests), renumbered from 0: no pinning there.
            ...(this.o.pinGpus && !job.image ? { gpuIndices: claim.gpuIndices } : {}),
          }),
          workDir,
          gpuIndices: claim.gpuIndices,
          resources: job.resources,
          image: job.image ? { reference: job.image, pullPolicy: job.imagePullPolicy } : undefined,
          onOutput: (stream, chunk) => {
            outputBytes += chunk.length;
            return batcher.write(stream, chunk);
          },
          whenWritable: () => batcher.waitForDrain(),
        });
        // A stop that arrived while the runtime was starting the job (pulling its image) applies now.
        if (stopCause) signalJob(stopCause);
        batcher.lifecycle('started', { workerId: this.o.workerId, pid: running.pid ?? null, command: job.command });
        const startedAt = this.o.clock();
        this.o.onProcessStarted?.(job, startedAt, running.pid);
        const measures = attemptStartMeasures(job, startedAt);
        this.o.log('info', 'job started', { event: 'job.started', jobId: job.id, attempt, workerId: this.o.workerId, queue: job.queue, ...measures });
        this.o.metrics?.attemptStarted(measures);
        exit = await running.exited;
      } finally {
        clearTimeout(timeout);
      }

      // Artifacts before the final state: an attempt reported finished has its files listed. An
      // attempt fenced out or handed back stores none (another attempt owns the job).
      const collects = exit.startError === undefined && stopCause?.kind !== 'lease-lost' && stopCause?.kind !== 'handed-back';
      const artifactsNotStored = collects ? await this.o.jobFiles?.collect(job, workDir) : undefined;
      const end = planAttemptEnd(job, exit, stopCause, Math.random, artifactsNotStored);
      if (end.kind === 'abandon') {
        const dropped = batcher.abort();
        this.o.log('warn', 'lease lost; attempt abandoned', { jobId: job.id, attempt, droppedEvents: dropped });
        return;
      }
      batcher.lifecycle('exited', { exitCode: exit.exitCode, signal: exit.signal, reason: end.outcome.reason });
      // Output first: a job is never reported finished before every line it printed is stored
      // (and archived). The heartbeat keeps the lease alive meanwhile, however slow the stores are.
      await batcher.close();
      const archived = await logArchive?.upload();
      const logArchiveRecord: ArchivedOutput = archived ? { logArchive: archived } : {};
      // The attempt holds its share of the instance until the write that ends it.
      const endedAt = this.o.clock();
      const usage = attemptUsageRecord(job, endedAt, exit.resourceUse ?? (exit.startError !== undefined ? NOTHING_RAN : { cpuSeconds: null, peakMemoryBytes: null }));
      if (end.kind === 'hand-back') {
        await this.requeue(claim, {
          exitCode: null,
          reason: `handed back by ${this.o.workerId} (worker stopping)`,
          delaySeconds: 0,
          usage,
          ...logArchiveRecord,
        });
        this.o.log('info', 'job handed back', { jobId: job.id, attempt });
        return;
      }
      if (end.kind === 'retry') {
        await this.requeue(claim, { exitCode: exit.exitCode, reason: end.reason, delaySeconds: end.delaySeconds, usage, ...logArchiveRecord });
        this.o.log('info', 'job will retry', { jobId: job.id, attempt, delaySeconds: end.delaySeconds });
        return;
      }
      try {
        await retryDependency(() =>
          this.o.store.finishAttempt({
            jobId: job.id,
            group: job.group,
            leaseId,
            attempt,
            holdings: job.holdings,
            to: end.outcome.state,
            exitCode: exit.exitCode,
            reason: end.outcome.reason,
            now: endedAt,
            actor: this.actor,
            usage,
            ...logArchiveRecord,
          }),
        );
      } catch (err) {
        if (err instanceof LeaseLostError) {
          this.o.log('warn', 'lease lost before completion was recorded', { jobId: job.id, attempt });
          return;
        }
        throw err;
      }
      clearInterval(heartbeat);
      await this.o.queue.ack(message);
      this.o.log('info', 'job finished', {
        event: 'job.finished',
        jobId: job.id,
        attempt,
        workerId: this.o.workerId,
        state: end.outcome.state,
        exitCode: exit.exitCode,
        reason: end.outcome.reason,
        durationMs: this.o.clock().getTime() - claimedAt,
        outputBytes,
      });
      this.o.metrics?.attemptFinished({ state: end.outcome.state, outputBytes });
    } finally {
      clearInterval(heartbeat);
      await logArchive?.dispose();
      if (!this.o.keepWorkDirs) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /**
   * RUNNING → QUEUED, then a fresh message (delayed by the backoff) replaces the current delivery,
   * so SQS's receive count measures one attempt's deliveries, not the job's whole life. If the send
   * fails, the current delivery is kept and made visible after the same delay instead.
   */
  private async requeue(claim: ClaimedAttempt, plan: { exitCode: number | null; reason: string; delaySeconds: number; usage: UsageRecord } & ArchivedOutput) {
    const { store, queue } = this.o;
    const { job, leaseId, message } = claim;
    const now = new Date(plan.usage.finishedAt);
    try {
      await retryDependency(() =>
        store.requeueAttempt({
          jobId: job.id,
          group: job.group,
          leaseId,
          attempt: job.attempt,
          holdings: job.holdings,
          exitCode: plan.exitCode,
          reason: plan.reason,
          retryAt: plan.delaySeconds > 0 ? new Date(now.getTime() + plan.delaySeconds * 1000).toISOString() : null,
          now,
          actor: this.actor,
          usage: plan.usage,
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
          holdings: job.holdings,
          to: 'CANCELLED',
          exitCode: plan.exitCode,
          reason: `cancelled by ${current ? cancelActor(current) : 'a user'}`,
          now: this.o.clock(),
          actor: this.actor,
          usage: plan.usage,
          ...(plan.logArchive ? { logArchive: plan.logArchive } : {}),
        }),
      ).catch((e: unknown) => {
        if (!(e instanceof LeaseLostError)) throw e;
      });
      await queue.ack(message);
      return;
    }
    if (this.o.scheduled) {
      await queue.ack(message);
      return;
    }
    try {
      await queue.enqueue(job.queue, { jobId: job.id }, { delaySeconds: plan.delaySeconds });
    } catch (err) {
      this.o.log('warn', 'could not send a fresh message; reusing the current one', { jobId: job.id, error: String(err) });
      await queue.release(message, plan.delaySeconds);
      return;
    }
    await queue.ack(message);
  }

  /**
   * One heartbeat (core/worker/lease-keeping.ts): a renewal of the lease and the message's
   * visibility when the lease is close to its end, otherwise a cheap status read that notices a
   * cancel, and a fenced renewal to confirm a lease the read says is gone.
   */
  private async heartbeat(claim: ClaimedAttempt, lease: { expiresAtMs: number }, stop: (cause: StopCause) => void, watch: OutputWatch) {
    const { store } = this.o;
    try {
      const step = heartbeatStep(this.o.clock().getTime(), lease.expiresAtMs, renewWithinMs(this.o.leaseSeconds * 1000, this.o.heartbeatMs));
      if (step.action === 'check') {
        const status = await store.readAttemptStatus(claim.job.id);
        const verdict = judgeStatus(status, claim.leaseId);
        if (verdict.action === 'continue') {
          watch(status?.outputWatchedUntil);
          return;
        }
        if (verdict.action === 'cancel') {
          stop({ kind: 'cancelled', by: verdict.by });
          return;
        }
      }
      watch((await this.renew(claim, lease, stop)).outputWatchedUntil);
    } catch (err) {
      if (err instanceof LeaseLostError || err instanceof JobNotFoundError) {
        stop({ kind: 'lease-lost' });
        return;
      }
      // A missed heartbeat is survivable while the lease lasts; the next one tries again.
      this.o.log('warn', 'heartbeat failed', { jobId: claim.job.id, error: String(err) });
    }
  }

  private async renew(claim: ClaimedAttempt, lease: { expiresAtMs: number }, stop: (cause: StopCause) => void) {
    const expiresAtMs = this.o.clock().getTime() + this.o.leaseSeconds * 1000;
    const current = await this.o.store.renewLease(claim.job.id, claim.leaseId, expiresAtMs);
    await this.o.queue.extendVisibility(claim.message, this.o.leaseSeconds);
    // Only once both are extended: a failed visibility change is tried again on the next heartbeat.
    lease.expiresAtMs = expiresAtMs;
    if (current.cancelRequested) stop({ kind: 'cancelled', by: cancelActor(current) });
    return current;
  }
}

/** Tells the attempt's batcher until when someone follows its output (nothing: nobody does). */
type OutputWatch = (untilMs: number | null | undefined) => void;
/** A job that never started used nothing. */
const NOTHING_RAN = { cpuSeconds: 0, peakMemoryBytes: 0 } as const;

export function cancelActor(job: Job): string {
  return job.cancelRequestedBy ?? 'a user';
}
