import type { JobQueue } from '../queue/job-queue.ts';
import type { Clock } from '../ids.ts';
import { systemClock } from '../ids.ts';
import type { Job } from './job.ts';
import type { JobStore } from './store.ts';

/**
 * What happens to a QUEUED job once it is runnable (stored pending by the transition that made it
 * so: submit, retry, requeue, a released hold). `JobService.dispatch` calls `runnable`; the
 * admission sweeper calls `unclaimed` for an admitted job no worker claimed within its grace.
 *
 * Two adapters: the scheduler (core/scheduling/scheduler-kicker.ts: a pass decides what fits and
 * admits only that) and `DirectAdmission` below, today's dispatch kept as the baseline.
 */
export interface JobAdmission {
  runnable(job: Pick<Job, 'id' | 'queue' | 'attempt'>): Promise<boolean>;
  unclaimed(job: Job): Promise<boolean>;
}

/**
 * Admits every runnable job at once and sends its message, without looking at capacity: the
 * dispatch Runplane had before the scheduler (a worker that cannot fit the job hands it back).
 * Kept for deployments and tests without a scheduler, and as the benchmark's baseline.
 */
export class DirectAdmission implements JobAdmission {
  constructor(
    private readonly store: JobStore,
    private readonly queue: JobQueue,
    private readonly clock: Clock = systemClock,
  ) {}

  async runnable(job: Pick<Job, 'id' | 'queue' | 'attempt'>): Promise<boolean> {
    await this.store.admitJob(job, this.clock());
    await this.queue.enqueue(job.queue, { jobId: job.id });
    return true;
  }

  /** The message again, then off the sweeper's list (a duplicate of a message not lost is harmless). */
  async unclaimed(job: Job): Promise<boolean> {
    await this.queue.enqueue(job.queue, { jobId: job.id });
    await this.store.markDispatched(job.id);
    return true;
  }
}
