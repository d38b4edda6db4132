import type { Caller } from '../auth/caller.ts';
import { groupNameSchema, resolveGroup, takeGroupField } from '../auth/groups.ts';
import { canSeeGroup, requirePermission } from '../auth/policy.ts';
import type { RuntimeQueue } from '../config.ts';
import {
  JobNotFoundError,
  JobNotInStateError,
  LogNotArchivedError,
  NotCancellableError,
  UnknownQueueError,
  ValidationError,
} from '../errors.ts';
import { parseOrThrow } from '../validation.ts';
import { signJobSpec } from './dispatch-signature.ts';
import { idempotencyGuard } from './idempotency.ts';
import { waitingFor, WORKER_SEEN_WITHIN_MS, type Waiting, type WaitingBoards } from './waiting-reason.ts';
import { DirectAdmission, type JobAdmission } from './job-admission.ts';
import { outputWatchRenewal } from './output-watch.ts';
import type { WorkerRegistry } from '../workers/registry.ts';
import type { GroupQuotaReader, PoolScalingBoard } from '../scaling/pool-scaling.ts';
import { workerViewFor, type WorkerView } from '../workers/worker-view.ts';
import { ArchivedEventReader } from '../events/archived-event-reader.ts';
import { outputEventBytes } from '../events/event.ts';
import type { LogArchiveStore, OutputArchiveRecord } from '../events/log-archive.ts';
import type { EventStore } from '../events/store.ts';
import { JOB_ID_PATTERN, newJobId, systemClock, type Clock, type IdGenerator } from '../ids.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import { DEFAULT_RETRY_ON, isTerminal, jobSpecSchema, JOB_STATES, prioritySchema, TERMINAL_STATES, type Job, type JobState } from './job.ts';
import { ArrayCoordinator } from './array-coordinator.ts';
import { finishedCount, newArrayState } from './array-progress.ts';
import type { CreateJobResult, JobStore, Page } from './store.ts';
import { holdingDependencies, type Dependency } from './dependencies.ts';
import { decideDependencies, dependencyHold } from './dependency-decision.ts';
import { DependencyRelease, type SettleOutcome } from './dependency-release.ts';
import { isPending } from './job-item.ts';
import type { WorkdirArchiveStore } from '../uploads/workdir-archive-store.ts';
import { archiveDigest } from '../archive-id.ts';
import * as z from 'zod';

export interface JobServiceDependencies {
  readonly store: JobStore;
  /** Needed only by code that dispatches (submit, retry, the sweeper). */
  readonly queue?: JobQueue;
  /**
   * What `dispatch` does with a runnable job: kick the scheduler (core/scheduling). Without one, a
   * service with a queue admits and sends at once (DirectAdmission, the pre-scheduler baseline).
   */
  readonly admission?: JobAdmission;
  /** The scheduler's last word on each queue's pending jobs (`waiting`); absent: derived from the job alone. */
  readonly waitingBoards?: WaitingBoards;
  /** The scaler's last decision per pool (AWS): a NoCapacity reason says "scaled to zero" or "scaling out". */
  readonly poolScaling?: Pick<PoolScalingBoard, 'read'>;
  /** The groups' quotas and use, so a job its group's quota holds back says so (`waiting`). */
  readonly groupQuotas?: GroupQuotaReader;
  readonly events: EventStore;
  readonly queues: readonly RuntimeQueue[];
  readonly clock?: Clock;
  readonly newId?: IdGenerator;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
  /** Workers' reports, for "why is my job waiting?" and GET /v1/workers. */
  readonly registry?: WorkerRegistry;
  /** Where submitted jobs' work directory archives must exist; absent: jobs cannot name one. */
  readonly workdirArchives?: Pick<WorkdirArchiveStore, 'exists'>;
  /** Where set, each submitted job's spec is signed with it, and workers run only signed jobs. */
  readonly dispatchKey?: string;
  /** Log archives: archived attempts are read from here (their events may have expired). */
  readonly logArchive?: LogArchiveStore;
}

export const listJobsQuerySchema = z.strictObject({
  // The group to list; the caller's first when omitted (core/auth/groups.ts resolveGroup).
  group: groupNameSchema.optional(),
  state: z.enum(JOB_STATES).optional(),
  queue: z.string().max(80).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(2048).optional(),
});

export const listChildrenQuerySchema = z.strictObject({
  state: z.enum(JOB_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(2048).optional(),
});

/**
 * Child i of an array with `aftercorr` on J waits for J's child i: J must be an array with at least
 * as many children (400 otherwise, naming the dependency), so every child has its partner.
 */
function requireCorrPartners(dependsOn: readonly Dependency[], size: number, jobs: ReadonlyMap<string, Job>): void {
  dependsOn.forEach((d, i) => {
    if (d.type !== 'aftercorr') return;
    const partner = jobs.get(d.job)?.array;
    if (partner && partner.size >= size) return;
    const why = partner ? `has ${partner.size} children, fewer than this array's ${size}` : 'is not an array';
    throw new ValidationError(`aftercorr pairs array children of equal index, but job ${d.job} ${why}`, [
      { path: `dependsOn.${i}.job`, message: `job ${d.job} ${why}` },
    ]);
  });
}

/** The states a retry of an array parent queues again: every child that did not succeed. */
const RETRIED_CHILD_STATES: readonly JobState[] = ['FAILED', 'TIMED_OUT', 'CANCELLED'];

/** PATCH /v1/jobs/{id}: what may change on a queued job. */
export const updateJobSchema = z.strictObject({ priority: prioritySchema });

export const listEventsQuerySchema = z.strictObject({
  attempt: z.coerce.number().int().min(1).max(10_000).optional(),
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
});

export const logsQuerySchema = z.strictObject({
  attempt: z.coerce.number().int().min(1).max(10_000).optional(),
  /** `download=1`: a presigned URL of the attempt's gzip log archive instead of the bytes. */
  download: z.enum(['1', 'true']).optional(),
});

/** How long a log archive download link works (the bound: at most 15 minutes). */
export const LOG_DOWNLOAD_URL_SECONDS = 15 * 60;

/** Bounds one `/logs` response: API Gateway allows 10 MB and Lambda 6 MB; past this use `/events`. */
export const MAX_LOG_RESPONSE_BYTES = 4 * 1024 * 1024;

// Kept here too for callers written before it moved to core/validation.ts.
export { parseOrThrow };

/**
 * The job use cases behind the API. Every method takes the authenticated caller; a job outside the
 * caller's groups is reported exactly like a job that does not exist.
 */
export class JobService {
  private readonly store: JobStore;
  private readonly admission: JobAdmission | undefined;
  private readonly waitingBoards: WaitingBoards | undefined;
  private readonly poolScaling: Pick<PoolScalingBoard, 'read'> | undefined;
  private readonly groupQuotas: GroupQuotaReader | undefined;
  private readonly events: EventStore;
  private readonly dependencies: DependencyRelease;
  private readonly queues: ReadonlyMap<string, RuntimeQueue>;
  private readonly clock: Clock;
  private readonly newId: IdGenerator;
  private readonly log: (message: string, fields?: Record<string, unknown>) => void;
  private readonly registry: WorkerRegistry | undefined;
  private readonly workdirArchives: Pick<WorkdirArchiveStore, 'exists'> | undefined;
  private readonly dispatchKey: string | undefined;
  private readonly logArchive: LogArchiveStore | undefined;
  private readonly archivedEvents: ArchivedEventReader | undefined;
  /** Array parents: their state, their children's materialisation, their cancels. */
  readonly arrays: ArrayCoordinator;

  constructor(deps: JobServiceDependencies) {
    this.store = deps.store;
    this.admission = deps.admission ?? (deps.queue ? new DirectAdmission(deps.store, deps.queue, deps.clock) : undefined);
    this.waitingBoards = deps.waitingBoards;
    this.poolScaling = deps.poolScaling;
    this.groupQuotas = deps.groupQuotas;
    this.events = deps.events;
    this.queues = new Map(deps.queues.map((q) => [q.pool, q]));
    this.clock = deps.clock ?? systemClock;
    this.newId = deps.newId ?? newJobId;
    this.log = deps.log ?? (() => undefined);
    this.registry = deps.registry;
    this.workdirArchives = deps.workdirArchives;
    this.dispatchKey = deps.dispatchKey;
    this.logArchive = deps.logArchive;
    this.archivedEvents = deps.logArchive ? new ArchivedEventReader(deps.logArchive) : undefined;
    this.arrays = new ArrayCoordinator({
      store: this.store,
      dispatch: (job) => this.dispatch(job),
      settle: (job) => this.dependencies.settle(job),
      clock: this.clock,
      log: this.log,
    });
    this.dependencies = new DependencyRelease({
      store: this.store,
      dispatch: (job) => this.dispatch(job),
      childEnded: (job) => this.arrays.childChanged(job),
      clock: this.clock,
      log: this.log,
    });
  }

  /** The job plus, while it waits, the platform's answer to "why is it still waiting?" (as data). */
  async describe(jobId: string, caller: Caller): Promise<{ job: Job; waiting: Waiting | null }> {
    const job = await this.get(jobId, caller);
    const [waiting] = await this.waitingOf([job]);
    return { job, waiting: waiting ?? null };
  }

  /**
   * `waiting` of each job (null unless QUEUED): one registry read and one board read per queue
   * among them, and one read of their groups, however many jobs.
   */
  async waitingOf(jobs: readonly Job[]): Promise<(Waiting | null)[]> {
    const now = this.clock();
    const queued = jobs.filter((j) => j.state === 'QUEUED' && !j.hold && !j.array);
    const queues = [...new Set(queued.map((j) => j.queue))];
    const groupNames = [...new Set(queued.map((j) => j.group))];
    // Unreadable groups say nothing about quotas; the rest of the answer still stands.
    const quotas = this.groupQuotas && groupNames.length > 0 ? this.groupQuotas.get(groupNames, now).catch(() => undefined) : Promise.resolve(undefined);
    const facts = new Map(
      await Promise.all(
        queues.map(async (queue) => {
          const [workers, board, scaling] = await Promise.all([
            this.registry ? this.registry.listWorkers(queue, WORKER_SEEN_WITHIN_MS, now) : Promise.resolve([]),
            this.waitingBoards ? this.waitingBoards.read(queue).catch(() => undefined) : Promise.resolve(undefined),
            this.poolScaling ? this.poolScaling.read(queue).catch(() => undefined) : Promise.resolve(undefined),
          ]);
          return [queue, { workers, board, scaling }] as const;
        }),
      ),
    );
    const groupQuotas = await quotas;
    return jobs.map((job) => {
      const f = facts.get(job.queue);
      return waitingFor(job, { now, workers: f?.workers ?? [], board: f?.board, scaling: f?.scaling, groupQuota: groupQuotas?.get(job.group) });
    });
  }

  /** Workers that reported within the last minute, per queue, as the caller may see them. */
  async listWorkers(caller: Caller): Promise<WorkerView[]> {
    requirePermission(caller, 'worker:read');
    if (!this.registry) return [];
    const now = this.clock();
    const perPool = await Promise.all([...this.queues.keys()].map((pool) => this.registry!.listWorkers(pool, WORKER_SEEN_WITHIN_MS, now)));
    return perPool.flat().map((worker) => workerViewFor(caller, worker));
  }

  /**
   * Stores the job and sends its message. With an idempotency key the same key and body return the
   * original job (`created: false`) and a different body is refused, atomically (guard item in the
   * job's transaction).
   */
  async submit(body: unknown, caller: Caller, options: { idempotencyKey?: string } = {}): Promise<CreateJobResult> {
    // `group` is not part of the job spec: it says where the job goes, and is authorized here.
    const { group: requestedGroup, rest: specBody } = takeGroupField(body);
    const spec = parseOrThrow(jobSpecSchema, specBody, 'job');
    const group = resolveGroup(caller, requestedGroup, 'job:submit');
    const queue = this.queues.get(spec.queue);
    if (!queue) throw new UnknownQueueError(spec.queue, [...this.queues.keys()]);
    if (queue.gpusPerInstance !== undefined && spec.resources.gpus > queue.gpusPerInstance) {
      throw new ValidationError(`queue "${spec.queue}" runs on instances with ${queue.gpusPerInstance} GPU(s); no worker could run a job that needs ${spec.resources.gpus}`, [
        { path: 'resources.gpus', message: `at most ${queue.gpusPerInstance} on queue "${spec.queue}" (its instance type's GPUs)` },
      ]);
    }
    if (spec.workdir) await this.requireArchive(group, spec.workdir.archive);
    const hold = await this.initialHold(spec.dependsOn, group, spec.array ?? null);
    const now = this.clock().toISOString();
    const job: Job = {
      id: this.newId(),
      name: spec.name ?? null,
      group,
      owner: caller.subject,
      state: 'QUEUED',
      queue: spec.queue,
      command: spec.command,
      env: spec.env,
      timeoutSeconds: spec.timeoutSeconds,
      maxAttempts: spec.maxAttempts ?? queue.defaultMaxAttempts,
      retryOn: spec.retryOn ?? DEFAULT_RETRY_ON,
      retryDelaySeconds: spec.retryDelaySeconds,
      retryAt: null,
      dispatched: false,
      resources: spec.resources,
      priority: spec.priority,
      admittedAt: null,
      image: spec.image ?? null,
      imagePullPolicy: spec.imagePullPolicy,
      labels: spec.labels,
      workdir: spec.workdir ?? null,
      artifacts: spec.artifacts,
      attempt: 0,
      exitCode: null,
      reason: null,
      reasonCode: null,
      dependsOn: spec.dependsOn,
      hold,
      createdAt: now,
      startedAt: null,
      finishedAt: null,
      cancelRequested: false,
      cancelRequestedBy: null,
      lease: null,
      holdings: [],
      history: [{ at: now, from: null, to: 'QUEUED', reason: `submitted by ${caller.subject}` }],
      attempts: [],
      // An array parent is stored alone (one item, one audit entry); its children follow in batches.
      ...(spec.array ? { array: newArrayState(spec.array) } : {}),
    };
    const guard = idempotencyGuard(options.idempotencyKey, caller.subject, 'submit', body, this.clock());
    const signed = this.dispatchKey ? { ...job, dispatchSignature: signJobSpec(this.dispatchKey, job) } : job;
    const result = await this.store.createJob(signed, guard);
    // A replay returns the job the key created. The key is scoped to the caller's subject, but the
    // caller's groups may have changed since (or the replay names another group): a job the caller
    // can no longer see, or of another group than this request's, answers like a missing one.
    if (!result.created && (result.job.group !== group || !canSeeGroup(caller, result.job.group))) {
      throw new JobNotFoundError(result.job.id);
    }
    // The re-check after the create: a dependency that finished after initialHold read it, but
    // before the edges were visible to its finisher, is seen here (specs/12, Dependencies). A held
    // array parent's release dispatches it, which materialises its first children.
    if (result.job.hold) return { ...result, job: (await this.dependencies.settle(result.job)).job };
    if (result.job.array) {
      // The first batch now, so children start at once; the rest as children end, or by the sweep.
      const advanced = await this.advanceQuietly(result.job.id);
      return { ...result, job: advanced ?? result.job };
    }
    // A replay of a submit whose send may have failed sends again; a duplicate message is harmless.
    if (isPending(result.job)) await this.dispatch(result.job);
    return result;
  }

  /**
   * The hold a new job starts with: none when every dependency is already satisfied, else one
   * naming what it waits for (a dependency that can never be satisfied is failed by the re-check
   * after the create, through the same path as any later one). Every dependency must be a job of
   * the new job's group: another group's job is refused exactly as a missing one (404), so a
   * submit reveals nothing about other groups.
   */
  private async initialHold(dependsOn: readonly Dependency[], group: string, array: { readonly size: number } | null): Promise<Job['hold']> {
    if (dependsOn.length === 0) return null;
    const ids = [...new Set(dependsOn.map((d) => d.job))];
    const found = await Promise.all(ids.map((id) => this.store.getJob(id)));
    const states = new Map<string, JobState>();
    ids.forEach((id, i) => {
      const job = found[i];
      if (!job || job.group !== group) throw new JobNotFoundError(id);
      states.set(id, job.state);
    });
    if (array) requireCorrPartners(dependsOn, array.size, new Map(ids.map((id, i) => [id, found[i]!])));
    // An array's aftercorr dependencies hold its children, each on its partner, not the parent.
    const decision = decideDependencies(holdingDependencies({ dependsOn, array }), states);
    if (decision.kind === 'satisfied') return null;
    if (decision.kind === 'waiting') return dependencyHold(decision.on);
    return { code: 'Dependency', message: `waiting for ${decision.dependency.type}:${decision.dependency.job}` };
  }

  /** The maintenance sweep's re-check of a held job (its safety net for a release that was missed). */
  async settleHeld(job: Job): Promise<SettleOutcome> {
    return (await this.dependencies.settle(job)).outcome;
  }

  /**
   * The parent's state, and up to `maxBatches` materialisation batches; a failure is left to the
   * sweep (the parent is stored, the request stands).
   */
  private async advanceQuietly(parentId: string, maxBatches = 1): Promise<Job | undefined> {
    try {
      return (await this.arrays.advance(parentId, { maxBatches })).parent;
    } catch (err) {
      this.log('array materialisation failed; the sweep will continue it', { parentId, error: String(err) });
      return undefined;
    }
  }

  /**
   * An array's materialised children in index order (children not materialised yet are counted
   * QUEUED in the parent's `arrayStatus` but not listed). With `state`, a page may hold fewer than
   * `limit` children and still have a `nextCursor`.
   */
  async listChildren(parentId: string, query: unknown, caller: Caller): Promise<Page<Job>> {
    const q = parseOrThrow(listChildrenQuerySchema, query, 'query');
    const parent = await this.get(parentId, caller);
    if (!parent.array) return { items: [], nextCursor: null };
    return this.store.listArrayChildren({
      parentId: parent.id,
      limit: q.limit,
      ...(q.state ? { states: [q.state as JobState] } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
  }

  /** A job may only name an archive its group has: otherwise its every attempt would fail to start. */
  private async requireArchive(group: string, archive: string): Promise<void> {
    const exists = this.workdirArchives ? await this.workdirArchives.exists(group, archiveDigest(archive)) : false;
    if (exists) return;
    throw new ValidationError(`work directory archive ${archive} does not exist in group ${group}`, [
      {
        path: 'workdir.archive',
        message: this.workdirArchives ? 'no such archive in this group; upload it first (POST /v1/uploads)' : 'this deployment stores no work directories',
      },
    ]);
  }

  /**
   * "This QUEUED job just became runnable: get it going". The transition that made it runnable
   * stored it on the scheduler's pending list; this kicks the scheduler, which admits it (and sends
   * its message) once a live worker has what it needs. A kick that fails is repaired by the
   * scheduler's periodic pass, so the submit itself still succeeds.
   */
  async dispatch(job: Pick<Job, 'id' | 'queue' | 'attempt'> & Partial<Pick<Job, 'array'>>): Promise<boolean> {
    // An array parent is never run: made runnable (its dependencies released), its children start.
    if (job.array) return (await this.advanceQuietly(job.id)) !== undefined;
    if (!this.admission) throw new Error('JobService was built without a queue; only dispatching routes get one');
    try {
      return await this.admission.runnable(job);
    } catch (err) {
      this.log('dispatch failed; the scheduler\'s periodic pass or the sweeper will send it', { jobId: job.id, error: String(err) });
      return false;
    }
  }

  /** The admission sweeper's repair of an admitted job no worker claimed within its grace period. */
  async redispatch(job: Job): Promise<boolean> {
    if (!this.admission) throw new Error('JobService was built without a queue; only dispatching routes get one');
    try {
      return await this.admission.unclaimed(job);
    } catch (err) {
      this.log('could not repair an unclaimed admission', { jobId: job.id, error: String(err) });
      return false;
    }
  }

  /** A QUEUED job's new priority (PATCH /v1/jobs/{id}); audited, and its place in line moves with it. */
  async update(jobId: string, body: unknown, caller: Caller): Promise<Job> {
    const { priority } = parseOrThrow(updateJobSchema, body, 'body');
    const job = await this.get(jobId, caller);
    requirePermission(caller, 'job:submit', job.group);
    if (job.state !== 'QUEUED') {
      throw new JobNotInStateError(jobId, ['QUEUED'], job.state, `job ${jobId} is ${job.state}; only a queued job's priority can change`);
    }
    const updated = await this.store.setPriority(jobId, priority, caller.subject, this.clock());
    // A higher priority may let it start now.
    if (updated.state === 'QUEUED' && !updated.admittedAt) await this.dispatch(updated);
    return updated;
  }

  async get(jobId: string, caller: Caller): Promise<Job> {
    if (!JOB_ID_PATTERN.test(jobId)) throw new JobNotFoundError(jobId);
    const job = await this.store.getJob(jobId);
    // Another group's job answers exactly like a missing one.
    if (!job || !canSeeGroup(caller, job.group)) throw new JobNotFoundError(jobId);
    return job;
  }

  async list(query: unknown, caller: Caller): Promise<Page<Job>> {
    const q = parseOrThrow(listJobsQuerySchema, query, 'query');
    const group = resolveGroup(caller, q.group, 'job:read');
    return this.store.listJobs({
      group,
      limit: q.limit,
      ...(q.state ? { state: q.state as JobState } : {}),
      ...(q.queue ? { queue: q.queue } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
  }

  /**
   * Cancels a job. Idempotent for its caller: cancelling a job the same caller already cancelled
   * returns it instead of NOT_CANCELLABLE, so a retried request gets the same answer.
   */
  async cancel(jobId: string, caller: Caller): Promise<Job> {
    const job = await this.get(jobId, caller);
    requirePermission(caller, 'job:cancel', job.group);
    if (job.array) {
      if (isTerminal(job.state) && job.state !== 'CANCELLED') throw new NotCancellableError(jobId, job.state);
      return this.arrays.cancel(job, caller.subject);
    }
    if (job.state === 'CANCELLED' && job.cancelRequestedBy === caller.subject) return job;
    try {
      return await this.store.requestCancel(jobId, caller.subject, this.clock());
    } catch (err) {
      if (err instanceof NotCancellableError) {
        const now = await this.store.getJob(jobId);
        if (now?.state === 'CANCELLED' && now.cancelRequestedBy === caller.subject) return now;
      }
      throw err;
    }
  }

  /**
   * Re-runs a finished job as a new attempt. With an idempotency key, a replay of the same retry
   * returns the job instead of queueing yet another attempt.
   */
  async retry(jobId: string, caller: Caller, options: { idempotencyKey?: string } = {}): Promise<Job> {
    const job = await this.get(jobId, caller);
    requirePermission(caller, 'job:retry', job.group);
    if (job.array) return this.retryArray(job, caller);
    const guard = idempotencyGuard(options.idempotencyKey, caller.subject, 'retry', { jobId }, this.clock());
    // With a key, a replay of a retry already under way is answered by the store's guard check.
    if (!guard && !isTerminal(job.state)) {
      throw new JobNotInStateError(jobId, TERMINAL_STATES, job.state, `job ${jobId} is ${job.state}; only a finished job can be retried`);
    }
    const result = await this.store.retryFinishedJob(job, caller.subject, this.clock(), guard);
    if (result.state === 'QUEUED' && !result.admittedAt && !result.hold) await this.dispatch(result);
    return result;
  }

  /**
   * Retries an array's children that did not succeed (each one attempt more, audited as any retry),
   * then moves the parent on. A replay finds no failed children left and answers the parent as it is.
   * A cancelled array stays cancelled: its unmaterialised children were counted CANCELLED for good.
   */
  private async retryArray(parent: Job, caller: Caller): Promise<Job> {
    if (parent.state === 'CANCELLED' || parent.cancelRequested) {
      throw new JobNotInStateError(parent.id, ['FAILED'], parent.state, `array ${parent.id} was cancelled; submit it again to rerun it`);
    }
    const status = parent.array!.status;
    if (finishedCount(status) - status.SUCCEEDED === 0) {
      throw new JobNotInStateError(parent.id, ['FAILED'], parent.state, `array ${parent.id} is ${parent.state} with no failed child to retry`);
    }
    let cursor: string | undefined;
    do {
      const page = await this.store.listArrayChildren({ parentId: parent.id, states: RETRIED_CHILD_STATES, limit: 100, ...(cursor ? { cursor } : {}) });
      await Promise.all(
        page.items.map(async (child) => {
          try {
            const retried = await this.store.retryFinishedJob(child, caller.subject, this.clock());
            if (retried.state === 'QUEUED' && !retried.dispatched) await this.dispatch(retried);
          } catch (err) {
            // Retried by someone else in the meantime: already what we want.
            if (!(err instanceof JobNotInStateError)) throw err;
          }
        }),
      );
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    // Its state only: the retried children are materialised already, and materialising the rest
    // stays with the children's workers and the sweep.
    return (await this.advanceQuietly(parent.id, 0)) ?? parent;
  }

  async listEvents(jobId: string, query: unknown, caller: Caller) {
    const q = parseOrThrow(listEventsQuerySchema, query, 'query');
    const job = await this.get(jobId, caller);
    const attempt = q.attempt ?? Math.max(1, job.attempt);
    const fromTable = () => this.events.list({ jobId, attempt, afterSeq: q.after, limit: q.limit });
    const archive = this.archiveOf(job, attempt);
    const [page] = await Promise.all([
      archive ? this.orFromTable(() => this.archivedEvents!.list(archive, { afterSeq: q.after, limit: q.limit }), fromTable, archive) : fromTable(),
      this.markWatched(job, attempt),
    ]);
    return { jobId, attempt, ...page };
  }

  /** A read of a live attempt's output (events or logs) keeps that output flowing at once (core/jobs/output-watch.ts). */
  private async markWatched(job: Job, attempt: number): Promise<void> {
    const until = outputWatchRenewal(job, attempt, this.clock().getTime());
    if (until === null) return;
    // The read answers either way: without the mark the output only arrives in larger batches.
    await this.store.markOutputWatched(job.id, until).catch((err: unknown) => this.log('could not mark output watched', { jobId: job.id, error: String(err) }));
  }

  /**
   * An archived attempt is read from its archive, whether or not its events are still in the table:
   * one source per attempt, so a read never mixes a half-expired table with the archive (same
   * events, same seqs, same bytes either way).
   */
  private archiveOf(job: Job, attempt: number): OutputArchiveRecord | undefined {
    if (!this.archivedEvents) return undefined;
    return job.attempts.find((a) => a.attempt === attempt)?.logArchive;
  }

  /**
   * Reads the archive, or the events table if the archive cannot be read (S3 unavailable; the local
   * platform's S3 is in memory and forgets archives on restart): while the events have not expired,
   * the table holds the same events.
   */
  private async orFromTable<T>(fromArchive: () => Promise<T>, fromTable: () => Promise<T>, archive: OutputArchiveRecord): Promise<T> {
    try {
      return await fromArchive();
    } catch (err) {
      this.log('log archive unreadable; reading the events table', { key: archive.key, error: String(err) });
      return fromTable();
    }
  }

  /** A presigned GET of the attempt's gzip log archive, valid LOG_DOWNLOAD_URL_SECONDS. */
  async logsDownloadUrl(jobId: string, query: unknown, caller: Caller): Promise<string> {
    const q = parseOrThrow(logsQuerySchema, query, 'query');
    const job = await this.get(jobId, caller);
    const attempt = q.attempt ?? Math.max(1, job.attempt);
    const archive = this.archiveOf(job, attempt);
    if (!archive || !this.logArchive) throw new LogNotArchivedError(jobId, attempt);
    return this.logArchive.downloadUrl(archive.key, LOG_DOWNLOAD_URL_SECONDS, `${jobId}-attempt-${attempt}.log.gz`);
  }

  /**
   * The attempt's output in order, both streams, exactly the bytes the process wrote; `truncated`
   * when it exceeded MAX_LOG_RESPONSE_BYTES (then `next` is where `/events?after=` continues).
   */
  async logs(jobId: string, query: unknown, caller: Caller): Promise<{ attempt: number; bytes: Buffer; truncated: boolean; next: number }> {
    const q = parseOrThrow(logsQuerySchema, query, 'query');
    const job = await this.get(jobId, caller);
    const attempt = q.attempt ?? Math.max(1, job.attempt);
    const archive = this.archiveOf(job, attempt);
    const fromTable = () => this.logBytesFromTable(jobId, attempt);
    const [read] = await Promise.all([
      archive ? this.orFromTable(() => this.archivedEvents!.readBytes(archive, MAX_LOG_RESPONSE_BYTES), fromTable, archive) : fromTable(),
      this.markWatched(job, attempt),
    ]);
    return { attempt, ...read };
  }

  private async logBytesFromTable(jobId: string, attempt: number): Promise<{ bytes: Buffer; truncated: boolean; next: number }> {
    const parts: Buffer[] = [];
    let bytes = 0;
    let after = 0;
    for (;;) {
      const page = await this.events.list({ jobId, attempt, afterSeq: after, limit: 1000 });
      for (const event of page.events) {
        if (event.kind === 'output') {
          const data = outputEventBytes(event);
          if (bytes + data.length > MAX_LOG_RESPONSE_BYTES) return { bytes: Buffer.concat(parts), truncated: true, next: after };
          parts.push(data);
          bytes += data.length;
        }
        after = event.seq;
      }
      if (!page.hasMore) return { bytes: Buffer.concat(parts), truncated: false, next: after };
    }
  }
}
