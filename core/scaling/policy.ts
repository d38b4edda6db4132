/**
 * How many worker tasks a pool should run, from its queue backlog. Pure: the adapter
 * (ecs-scaler.ts) reads the numbers from SQS and ECS and applies the result.
 *
 * The policy:
 * 1. Demand is every job that is or will soon be work: its messages, visible (admitted, waiting
 *    for a worker), in flight (being run), delayed (retries with DelaySeconds), messages the caller
 *    just sent that SQS's approximate counters may not show yet; and the pool's *pending* jobs,
 *    which have no message at all until the scheduler admits them onto a live worker
 *    (specs/11-scheduling.md): a pool at zero has nothing to admit onto, so pending jobs are the
 *    demand that starts it — except those their group's quota holds back (the caller leaves them
 *    out: quota-demand.ts), which no new instance could run.
 * 2. Tasks needed = ceil(jobs / maxJobsPerTask), and on a GPU pool at least the tasks the jobs with
 *    messages fill plus ceil(pending GPUs / GPUs per task) (the pending jobs' GPUs do not fit
 *    beside jobs that hold a task's GPUs), clamped to [minTasks, maxTasks].
 * 3. Scale out at once: starting from zero must not wait for an alarm's evaluation periods.
 * 4. Scale in only as far as is safe with counters that lag: while jobs wait (messages visible, or
 *    jobs pending), a running
 *    task may be about to take one, so desired never drops below the running tasks (tasks still
 *    pending placement are cancelled freely). With nothing visible, desired drops to what the
 *    in-flight work needs; ECS then stops idle tasks only, because busy workers hold task
 *    scale-in protection.
 * 5. Callers that only know about new work (the submit path) pass allowScaleIn = false so a stale
 *    read can never shrink the pool.
 */

export interface ScalingInput {
  /** SQS ApproximateNumberOfMessages. */
  readonly visibleMessages: number;
  /** SQS ApproximateNumberOfMessagesNotVisible. */
  readonly inFlightMessages: number;
  /** SQS ApproximateNumberOfMessagesDelayed. */
  readonly delayedMessages?: number;
  /** Messages sent moments ago that the approximate counters may not include yet. */
  readonly pendingMessages?: number;
  /** QUEUED jobs on the pool's pending list: runnable, not admitted yet (no message). */
  readonly pendingJobs?: number;
  /** GPUs those pending jobs need in all. */
  readonly pendingGpus?: number;
  /**
   * Pending jobs left out of `pendingJobs` because their group is at its quota (quota-demand.ts):
   * no instance could run them now, so they are no demand, and they keep no task from scaling in
   * (their group's running jobs hold the tasks they will run on). Shown in the reason only.
   */
  readonly quotaBlockedJobs?: number;
  /** GPUs of one task's instance; 0 (default) for a CPU pool. */
  readonly gpusPerTask?: number;
  /** The service's running tasks (ECS runningCount). */
  readonly runningTasks: number;
  /** The service's current desired count. */
  readonly currentDesiredTasks: number;
  readonly maxJobsPerTask: number;
  readonly minTasks: number;
  readonly maxTasks: number;
  /** Default true. */
  readonly allowScaleIn?: boolean;
}

export type ScalingAction = 'scale-out' | 'scale-in' | 'hold';

export interface ScalingDecision {
  readonly desiredTasks: number;
  readonly action: ScalingAction;
  /** One line for the logs: the numbers behind the decision. */
  readonly reason: string;
}

function assertCount(name: string, value: number, min = 0): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
}

/** The task count the pool should have; see the policy at the top of this file. */
export function desiredTaskCount(input: ScalingInput): number {
  const { visibleMessages, inFlightMessages, delayedMessages = 0, pendingMessages = 0, pendingJobs = 0, pendingGpus = 0, gpusPerTask = 0 } = input;
  const { runningTasks, currentDesiredTasks, maxJobsPerTask, minTasks, maxTasks, allowScaleIn = true } = input;
  assertCount('visibleMessages', visibleMessages);
  assertCount('inFlightMessages', inFlightMessages);
  assertCount('delayedMessages', delayedMessages);
  assertCount('pendingMessages', pendingMessages);
  assertCount('pendingJobs', pendingJobs);
  assertCount('pendingGpus', pendingGpus);
  assertCount('gpusPerTask', gpusPerTask);
  assertCount('runningTasks', runningTasks);
  assertCount('currentDesiredTasks', currentDesiredTasks);
  assertCount('maxJobsPerTask', maxJobsPerTask, 1);
  assertCount('minTasks', minTasks);
  assertCount('maxTasks', maxTasks);
  if (minTasks > maxTasks) throw new RangeError(`minTasks (${minTasks}) must not exceed maxTasks (${maxTasks})`);

  const clamp = (n: number) => Math.min(maxTasks, Math.max(minTasks, n));
  const messages = visibleMessages + inFlightMessages + delayedMessages + pendingMessages;
  const byJobs = Math.ceil((messages + pendingJobs) / maxJobsPerTask);
  const byGpus = gpusPerTask > 0 && pendingGpus > 0 ? Math.ceil(messages / maxJobsPerTask) + Math.ceil(pendingGpus / gpusPerTask) : 0;
  const target = clamp(Math.max(byJobs, byGpus));
  if (target >= currentDesiredTasks) return target;
  if (!allowScaleIn) return clamp(currentDesiredTasks);
  const waiting = visibleMessages + pendingMessages + pendingJobs > 0;
  return waiting ? clamp(Math.max(target, Math.min(runningTasks, currentDesiredTasks))) : target;
}

export function scalingDecision(input: ScalingInput): ScalingDecision {
  const desiredTasks = desiredTaskCount(input);
  const action: ScalingAction =
    desiredTasks > input.currentDesiredTasks ? 'scale-out' : desiredTasks < input.currentDesiredTasks ? 'scale-in' : 'hold';
  const reason =
    `visible=${input.visibleMessages} inFlight=${input.inFlightMessages} delayed=${input.delayedMessages ?? 0} ` +
    `pending=${input.pendingMessages ?? 0} pendingJobs=${input.pendingJobs ?? 0} pendingGpus=${input.pendingGpus ?? 0} quotaBlocked=${input.quotaBlockedJobs ?? 0} running=${input.runningTasks} desired=${input.currentDesiredTasks}->${desiredTasks} ` +
    `(${input.maxJobsPerTask} jobs/task, ${input.minTasks}..${input.maxTasks} tasks)`;
  return { desiredTasks, action, reason };
}
