import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { dependencyFailure } from '../aws/errors.ts';
import type { JobAdmission } from '../jobs/job-admission.ts';
import type { Job } from '../jobs/job.ts';
import type { JobStore } from '../jobs/store.ts';
import type { SchedulerKick } from './scheduler-kicker.ts';

/** The body of a kick message: which pool wants a pass. */
export interface SchedulerKickMessage {
  readonly pool: string;
}

/** SQS standard queues delay a message by at most 15 minutes; a later wake-up is re-armed by the pass then. */
const MAX_DELAY_SECONDS = 900;

/**
 * Asks the scheduler Lambda for a pass of a pool by sending a small message on its kick queue
 * (AWS; specs/11-scheduling.md decision 12). The Lambda runs passes under a per-pool lease, so
 * any number of kicks from any number of processes coalesce into one pass at a time per pool. A
 * delayed kick is an SQS delay (a retry's backoff end, a stale view settling).
 *
 * As the JobAdmission of the API, the worker and the background functions, `runnable` sends the
 * kick and waits for it (a Lambda may freeze right after its handler returns); a send that fails
 * throws, and JobService logs it: the job is pending already, and the scheduled safety pass
 * admits it within a minute.
 */
export class SqsSchedulerKick implements SchedulerKick, JobAdmission {
  constructor(
    private readonly options: {
      readonly client: SQSClient;
      readonly queueUrl: string;
      /** Puts an unclaimed admission back on the pending list (the admission sweeper's repair). */
      readonly store: Pick<JobStore, 'unadmitJob'>;
      readonly log?: (message: string, fields?: Record<string, unknown>) => void;
    },
  ) {}

  /** Fire and forget, for long-lived processes (the worker): a lost kick is repaired by the scheduled pass. */
  kick(pool: string, afterMs = 0): void {
    this.send(pool, afterMs).catch((err: unknown) => this.options.log?.('could not kick the scheduler', { pool, error: String(err) }));
  }

  async send(pool: string, afterMs = 0): Promise<void> {
    const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(afterMs / 1000)));
    const body: SchedulerKickMessage = { pool };
    try {
      await this.options.client.send(
        new SendMessageCommand({ QueueUrl: this.options.queueUrl, MessageBody: JSON.stringify(body), ...(delaySeconds > 0 ? { DelaySeconds: delaySeconds } : {}) }),
      );
    } catch (err) {
      throw dependencyFailure('scheduler kick queue', err);
    }
  }

  async runnable(job: Pick<Job, 'id' | 'queue' | 'attempt'>): Promise<boolean> {
    await this.send(job.queue);
    return true;
  }

  async unclaimed(job: Job): Promise<boolean> {
    const back = await this.options.store.unadmitJob(job);
    await this.send(job.queue);
    return back;
  }
}

/** The pool a kick message names, or null for a body that is not a kick. */
export function kickedPool(body: string): string | null {
  try {
    const parsed = JSON.parse(body) as Partial<SchedulerKickMessage> | null;
    return typeof parsed?.pool === 'string' ? parsed.pool : null;
  } catch {
    return null;
  }
}
