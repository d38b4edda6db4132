import { LeaseLostError, JobNotFoundError, JobNotInStateError } from '../errors.ts';
import { systemClock, type Clock } from '../ids.ts';
import { isTerminal, type Job } from '../jobs/job.ts';
import type { JobService } from '../jobs/job-service.ts';
import { recoverLostAttempt } from '../jobs/recovery.ts';
import type { JobStore, Page } from '../jobs/store.ts';
import type { JobQueue, ReceivedJobMessage } from '../queue/job-queue.ts';
import type { WorkerRegistry } from '../workers/registry.ts';
import { abandonedInboxes, INBOX_ABANDONED_AFTER_MS } from './abandoned-inboxes.ts';

export type MaintenanceLogger = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface MaintenanceDependencies {
  readonly store: JobStore;
  readonly jobs: JobService;
  /** The pools' work queues. */
  readonly queue: JobQueue;
  readonly clock?: Clock;
  readonly log?: MaintenanceLogger;
}

export interface SweepOptions {
  /** A job is re-dispatched only when its message is missing for longer than this. */
  readonly dispatchGraceSeconds: number;
  /** A RUNNING job is recovered only when its lease expired longer ago than this. */
  readonly leaseGraceSeconds: number;
}

export const DEFAULT_SWEEP_OPTIONS: SweepOptions = { dispatchGraceSeconds: 30, leaseGraceSeconds: 60 };

export interface SweepReport {
  readonly redispatched: string[];
  readonly recovered: { jobId: string; state: string }[];
  /** Array parents the sweep moved on (children materialised or cancelled). */
  readonly arrays: { parentId: string; materialised: number; cancelled: number }[];
  /** Held jobs the sweep released or failed: a release their last dependency's finisher missed. */
  readonly settled: { jobId: string; outcome: 'released' | 'failed' }[];
}

async function* allPages(list: (cursor?: string) => Promise<Page<Job>>): AsyncGenerator<Job> {
  let cursor: string | undefined;
  do {
    const page = await list(cursor);
    yield* page.items;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}

/**
 * The safety nets that keep "no job stays QUEUED or RUNNING forever" true when a step failed:
 *
 * - Admission sweeper: an admitted job is on the admitted list (`dispatchKey`) until a claim takes
 *   it (the pass makes no second write to confirm its send). One still unclaimed
 *   `dispatchGraceSeconds` after its admission (a lost send, a pass that died before it, a worker
 *   that vanished) is repaired by its JobAdmission: with the scheduler it goes back on the pending
 *   list and a pass places it again; with direct dispatch its message is sent again once.
 * - Reaper: a RUNNING job whose lease expired more than `leaseGraceSeconds` ago and whose message
 *   did not bring a worker back (deleted, dead-lettered) is recovered as if its worker were lost.
 * - Arrays: every array parent with work left is advanced (its state put where its counts say, its
 *   next children materialised as the window allows, a cancel's leftover children cancelled): what
 *   a crashed submit, worker or canceller did not finish.
 * - Dependency release: every job held for its dependencies (`held` GSI) is settled again, so one
 *   whose release was missed (its last dependency's finisher died between the final state and the
 *   release, or the dependents GSI lagged behind its edges) is released or failed within a sweep.
 */
export async function sweep(deps: MaintenanceDependencies, pools: readonly string[], options: SweepOptions = DEFAULT_SWEEP_OPTIONS): Promise<SweepReport> {
  const clock = deps.clock ?? systemClock;
  const log = deps.log ?? (() => undefined);
  const report: SweepReport = { redispatched: [], recovered: [], arrays: [], settled: [] };
  for (const pool of pools) {
    const now = clock().getTime();
    for await (const job of allPages((cursor) => deps.store.listAdmittedJobs(pool, 100, cursor))) {
      const since = new Date(job.admittedAt ?? job.history.at(-1)?.at ?? job.createdAt).getTime();
      if (job.state !== 'QUEUED' || now - since < options.dispatchGraceSeconds * 1000) continue;
      if (await deps.jobs.redispatch(job)) {
        report.redispatched.push(job.id);
        log('info', 're-sent the message of a job still unclaimed after the grace period', { jobId: job.id });
      }
    }
    for await (const parent of allPages((cursor) => deps.store.listActiveArrays(pool, 100, cursor))) {
      try {
        const { materialised, cancelled } = await deps.jobs.arrays.advance(parent.id, { actor: 'system:sweeper', cancelChildren: true });
        if (materialised > 0 || cancelled > 0) report.arrays.push({ parentId: parent.id, materialised, cancelled });
      } catch (err) {
        log('warn', 'could not advance an array', { jobId: parent.id, error: String(err) });
      }
    }
    for await (const job of allPages((cursor) => deps.store.listHeldJobs(pool, 100, cursor))) {
      try {
        const outcome = await deps.jobs.settleHeld(job);
        if (outcome === 'released' || outcome === 'failed') {
          report.settled.push({ jobId: job.id, outcome });
          log('warn', 'settled a held job whose release was missed', { jobId: job.id, outcome });
        }
      } catch (err) {
        // One job's failure does not stop the sweep; the next sweep tries it again.
        log('error', 'could not settle a held job', { jobId: job.id, error: String(err) });
      }
    }
    for await (const job of allPages((cursor) => deps.store.listRunningJobs(pool, 100, cursor))) {
      if (!job.lease || now - job.lease.expiresAt < options.leaseGraceSeconds * 1000) continue;
      try {
        const recovered = await recoverLostAttempt(deps.store, job, clock, 'system:reaper');
        if (recovered.state === 'QUEUED') await deps.jobs.dispatch(recovered);
        report.recovered.push({ jobId: job.id, state: recovered.state });
        log('warn', 'reaped an attempt whose lease expired', { jobId: job.id, attempt: job.attempt, state: recovered.state });
      } catch (err) {
        // Someone (a worker that got the message back) recovered or renewed it first.
        if (!(err instanceof LeaseLostError || err instanceof JobNotFoundError)) throw err;
      }
    }
  }
  return report;
}

export interface InboxSweepDependencies {
  readonly queue: Pick<JobQueue, 'listInboxes' | 'deleteInbox'>;
  readonly registry: Pick<WorkerRegistry, 'listWorkers'>;
  readonly clock?: Clock;
  readonly log?: MaintenanceLogger;
}

/**
 * Deletes the inboxes (specs/11-scheduling.md, decisions 12 and 21) that no live worker names: what
 * a worker killed outright (kill -9, a lost machine) leaves behind, one SQS queue each, forever.
 * The jobs whose messages were there need nothing from this: they are still admitted, so the
 * admission sweeper's grace puts them back on the pending list, and a pass places them on a live
 * worker. Local only: AWS workers poll their pool's shared queue (decision 15), and the maintenance
 * Lambda holds neither sqs:ListQueues nor sqs:DeleteQueue. A queue adapter without inboxes: nothing
 * to do. Returns the inboxes it deleted.
 */
export async function deleteAbandonedInboxes(
  deps: InboxSweepDependencies,
  pools: readonly string[],
  abandonedAfterMs: number = INBOX_ABANDONED_AFTER_MS,
): Promise<string[]> {
  const { queue, registry } = deps;
  if (!queue.listInboxes || !queue.deleteInbox) return [];
  const log = deps.log ?? (() => undefined);
  const deleted: string[] = [];
  for (const pool of pools) {
    const now = (deps.clock ?? systemClock)();
    const [inboxes, workers] = await Promise.all([queue.listInboxes(pool), registry.listWorkers(pool, abandonedAfterMs, now)]);
    for (const inbox of abandonedInboxes(inboxes, workers, now, abandonedAfterMs)) {
      try {
        await queue.deleteInbox(pool, inbox);
        deleted.push(inbox);
        log('warn', 'deleted the inbox of a worker that stopped reporting', { pool, inbox });
      } catch (err) {
        // The next sweep tries it again.
        log('error', 'could not delete an abandoned inbox', { pool, inbox, error: String(err) });
      }
    }
  }
  return deleted;
}

/**
 * One message from a pool's DLQ: SQS moved it there after `maxReceiveCount` deliveries that never
 * completed.
 * - An admitted QUEUED job's message never got a worker as far as a claim (a poison message): the
 *   job fails. A pending one (back on the scheduler's list) is left to the scheduler.
 * - A RUNNING job under an expired lease lost its worker: the attempt is recovered as any lost
 *   worker's is (retried when `retryOn` and the attempts allow; else FAILED). A retried job is
 *   pending again and goes back through admission (`jobs.dispatch`: the scheduler's kick, or a
 *   direct send without a scheduler), never straight onto the work queue past the capacity check.
 * - A live attempt (a duplicate message of a job a worker still holds) or a finished job: ignored.
 */
export async function handleDeadLetter(
  deps: Pick<MaintenanceDependencies, 'store' | 'clock'> & { readonly jobs?: Pick<JobService, 'dispatch'> },
  message: Pick<ReceivedJobMessage, 'jobId' | 'receiveCount'>,
): Promise<'failed' | 'recovered' | 'ignored-finished' | 'ignored-live' | 'ignored-pending' | 'ignored-unknown'> {
  const clock = deps.clock ?? systemClock;
  const job = message.jobId ? await deps.store.getJob(message.jobId) : undefined;
  if (!job) return 'ignored-unknown';
  if (isTerminal(job.state)) return 'ignored-finished';
  if (job.state === 'RUNNING' && job.lease && job.lease.expiresAt > clock().getTime()) return 'ignored-live';
  // Back on the scheduler's pending list (a worker put it back, the sweeper un-admitted it): this
  // message is an old one, and waiting is never a failure.
  if (job.state === 'QUEUED' && !job.admittedAt) return 'ignored-pending';
  try {
    if (job.state === 'RUNNING' && deps.jobs) {
      const recovered = await recoverLostAttempt(deps.store, job, clock, 'system:dead-letter');
      if (recovered.state === 'QUEUED') await deps.jobs.dispatch(recovered);
      return recovered.state === 'QUEUED' ? 'recovered' : 'failed';
    }
    const reason =
      `dead-lettered: its queue message was delivered ${message.receiveCount} time(s) without the job completing` +
      (job.state === 'RUNNING' ? ` (last worker ${job.lease?.workerId ?? 'unknown'} lost)` : '');
    await deps.store.failDeadLettered(job, reason, clock(), 'system:dead-letter');
    return 'failed';
  } catch (err) {
    if (err instanceof JobNotInStateError || err instanceof LeaseLostError) return 'ignored-live';
    throw err;
  }
}

/** Drains one pool's DLQ (the local platform's loop; in AWS a Lambda is subscribed to each DLQ). */
export async function drainDeadLetters(
  deps: Pick<MaintenanceDependencies, 'store' | 'clock' | 'log'> & { readonly jobs?: Pick<JobService, 'dispatch'> },
  deadLetterQueue: JobQueue,
  pool: string,
): Promise<number> {
  let handled = 0;
  for (;;) {
    const messages = await deadLetterQueue.receive(pool, { maxMessages: 10, waitSeconds: 0 });
    if (messages.length === 0) return handled;
    for (const message of messages) {
      const outcome = await handleDeadLetter(deps, message);
      deps.log?.('warn', 'dead letter handled', { jobId: message.jobId, outcome });
      await deadLetterQueue.ack(message);
      handled++;
    }
  }
}
