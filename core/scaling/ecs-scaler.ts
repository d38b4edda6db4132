import { DescribeServicesCommand, UpdateServiceCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DependencyError, UnknownQueueError } from '../errors.ts';
import type { ScalingTarget } from './config.ts';
import { scalingDecision, type ScalingDecision } from './policy.ts';
import type { GroupQuotaReader, GroupQuotaState, PendingBacklog, PendingDemandReader, PoolScalingBoard } from './pool-scaling.ts';
import { quotaDemand } from './quota-demand.ts';

/**
 * Applies the backlog policy (policy.ts) to ECS: reads the pool queue's approximate counters, the
 * pool's pending jobs (no message until the scheduler admits them) less those their group's quota
 * holds back (quota-demand.ts, from the groups' states) and the service's counts, and
 * sets the service's desired count when it should change; then posts what it decided, which a
 * waiting job's NoCapacity reason reads ("scaled to zero", "scaling out"). The ECS
 * capacity provider then launches or terminates instances to fit the tasks, which is what lets a
 * pool start from zero instances as soon as a job is submitted.
 *
 * One caller: the scheduled scale-workers Lambda (every pool, every minute, scale out and in).
 * Scale-out is not on the submit path: it would add two ECS calls to every submit.
 */

export interface ScalePoolOptions {
  /** Messages just sent that the approximate counters may not show yet (the submit path passes 1). */
  readonly pendingMessages?: number;
  /** Default true; the submit path passes false so it can only add capacity. */
  readonly allowScaleIn?: boolean;
}

export interface ScalingOutcome extends ScalingDecision {
  readonly pool: string;
  /** Whether UpdateService was called. */
  readonly updated: boolean;
}

export interface EcsWorkerScalerOptions {
  readonly sqs: SQSClient;
  readonly ecs: ECSClient;
  readonly targets: readonly ScalingTarget[];
  /** The pools' pending jobs; none: the backlog alone is the demand (a deployment without a scheduler). */
  readonly pending?: PendingDemandReader;
  /** The groups' quotas and holdings; none: every pending job is demand. */
  readonly groups?: GroupQuotaReader;
  /** Where each decision is posted; none: not posted. */
  readonly statuses?: PoolScalingBoard;
  readonly clock?: () => Date;
  readonly log?: (entry: Record<string, unknown>) => void;
}

const BACKLOG_ATTRIBUTES = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
] as const;

export class EcsWorkerScaler {
  private readonly sqs: SQSClient;
  private readonly ecs: ECSClient;
  private readonly targets: ReadonlyMap<string, ScalingTarget>;
  private readonly log: (entry: Record<string, unknown>) => void;
  private readonly pending: PendingDemandReader | undefined;
  private readonly groups: GroupQuotaReader | undefined;
  private readonly statuses: PoolScalingBoard | undefined;
  private readonly clock: () => Date;

  constructor(options: EcsWorkerScalerOptions) {
    this.sqs = options.sqs;
    this.ecs = options.ecs;
    this.pending = options.pending;
    this.groups = options.groups;
    this.statuses = options.statuses;
    this.clock = options.clock ?? (() => new Date());
    this.targets = new Map(options.targets.map((t) => [t.pool, t]));
    this.log = options.log ?? ((entry) => console.log(JSON.stringify(entry)));
  }

  get pools(): readonly string[] {
    return [...this.targets.keys()];
  }

  /** Scales one pool. Throws UnknownQueueError for a pool it does not manage, DependencyError when SQS or ECS fail. */
  async scalePool(pool: string, options: ScalePoolOptions = {}): Promise<ScalingOutcome> {
    const target = this.targets.get(pool);
    if (!target) throw new UnknownQueueError(pool, this.pools);
    const [backlog, service, pendingJobs] = await Promise.all([
      this.readBacklog(target),
      this.readService(target),
      this.pending ? this.pending.read(pool) : Promise.resolve<PendingBacklog>(new Map()),
    ]);
    const pending = quotaDemand(pendingJobs, await this.groupStates(pool, pendingJobs));
    const decision = scalingDecision({
      ...backlog,
      pendingJobs: pending.jobs,
      pendingGpus: pending.gpus,
      quotaBlockedJobs: pending.quotaBlockedJobs,
      gpusPerTask: target.gpusPerTask,
      ...(options.pendingMessages !== undefined ? { pendingMessages: options.pendingMessages } : {}),
      ...(options.allowScaleIn !== undefined ? { allowScaleIn: options.allowScaleIn } : {}),
      runningTasks: service.runningCount,
      currentDesiredTasks: service.desiredCount,
      maxJobsPerTask: target.maxJobsPerTask,
      minTasks: target.minTasks,
      maxTasks: target.maxTasks,
    });
    const updated = decision.action !== 'hold';
    if (updated) {
      try {
        await this.ecs.send(
          new UpdateServiceCommand({ cluster: target.cluster, service: target.service, desiredCount: decision.desiredTasks }),
        );
      } catch (err) {
        throw new DependencyError('ecs', err);
      }
    }
    const outcome = { pool, ...decision, updated };
    this.log({ msg: 'worker pool scaled', ...outcome });
    // Only an explanation: a failed post leaves waiting jobs with the generic NoCapacity message.
    await this.statuses
      ?.write({ pool, desiredTasks: decision.desiredTasks, runningTasks: service.runningCount, at: this.clock().toISOString() })
      .catch((err: unknown) => this.log({ msg: 'could not post the pool scaling status', pool, error: String(err) }));
    return outcome;
  }

  /**
   * Scales every pool independently: one pool's failure does not keep the others at their old size.
   * Throws an AggregateError of the failures after all pools were tried.
   */
  async scaleAll(): Promise<ScalingOutcome[]> {
    const results = await Promise.allSettled(this.pools.map((pool) => this.scalePool(pool)));
    const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [{ pool: this.pools[i], error: r.reason as unknown }] : []));
    if (failures.length > 0) {
      throw new AggregateError(
        failures.map((f) => f.error),
        `scaling failed for pool(s) ${failures.map((f) => f.pool).join(', ')}`,
      );
    }
    return results.map((r) => (r as PromiseFulfilledResult<ScalingOutcome>).value);
  }

  /** The states of the groups with pending jobs; undefined when unread (then every pending job is demand). */
  private async groupStates(pool: string, pending: PendingBacklog): Promise<ReadonlyMap<string, GroupQuotaState> | undefined> {
    if (!this.groups || pending.size === 0) return undefined;
    try {
      return await this.groups.get([...pending.keys()], this.clock());
    } catch (err) {
      // Counting a quota-blocked job as demand costs an idle instance at worst; not scaling costs a start.
      this.log({ msg: 'could not read the groups\' quotas; counting every pending job as demand', pool, error: String(err) });
      return undefined;
    }
  }

  private async readBacklog(target: ScalingTarget) {
    let attributes: Record<string, string>;
    try {
      const out = await this.sqs.send(new GetQueueAttributesCommand({ QueueUrl: target.queueUrl, AttributeNames: [...BACKLOG_ATTRIBUTES] }));
      attributes = out.Attributes ?? {};
    } catch (err) {
      throw new DependencyError('sqs', err);
    }
    const count = (name: (typeof BACKLOG_ATTRIBUTES)[number]) => {
      const value = Number(attributes[name] ?? '0');
      if (!Number.isInteger(value) || value < 0) throw new DependencyError('sqs', new Error(`${name} is "${attributes[name]}"`));
      return value;
    };
    return {
      visibleMessages: count('ApproximateNumberOfMessages'),
      inFlightMessages: count('ApproximateNumberOfMessagesNotVisible'),
      delayedMessages: count('ApproximateNumberOfMessagesDelayed'),
    };
  }

  private async readService(target: ScalingTarget): Promise<{ desiredCount: number; runningCount: number }> {
    let out;
    try {
      out = await this.ecs.send(new DescribeServicesCommand({ cluster: target.cluster, services: [target.service] }));
    } catch (err) {
      throw new DependencyError('ecs', err);
    }
    const service = out.services?.find((s) => s.serviceName === target.service || s.serviceArn === target.service);
    if (!service || service.status === 'INACTIVE') {
      const failure = out.failures?.[0];
      throw new DependencyError('ecs', new Error(`service ${target.service} in ${target.cluster} not found${failure?.reason ? `: ${failure.reason}` : ''}`));
    }
    return { desiredCount: service.desiredCount ?? 0, runningCount: service.runningCount ?? 0 };
  }
}
