import type { TransactionAction } from '../audit/dynamodb-audit-log.ts';
import type { Holding, Job } from './job.ts';

/**
 * What one counter took for a claim, and how to throw when it would not give it: the action's
 * condition (a group below its GPU quota, an array below its parallelism) is checked by DynamoDB in
 * the claim's own transaction, so a limit holds under any number of concurrent claims.
 */
export interface CounterAcquisition {
  /** What was taken (`takenAt` is set by the store to the claim's time). */
  readonly holding: Omit<Holding, 'takenAt'>;
  /** A conditional update of the counter item, added to the claim's transaction. */
  readonly action: TransactionAction;
  /** The error the claim throws when this action's condition refused the transaction. */
  readonly refused: (found: Record<string, unknown> | undefined) => Error;
}

/**
 * A kind of capacity a running job holds besides its worker slot (a group's quota, an array's
 * running children). The store adds `acquire`'s action to the claim transaction, records the
 * holding on the job item, and adds `release`'s action to the transaction that ends the RUNNING
 * state (finish, requeue, recovery, dead letter): what a claim took is given back exactly once, on
 * every exit path, because it changes together with the state.
 */
export interface CapacityCounters {
  /** Names the holdings this implementation creates (Holding.kind). */
  readonly kind: string;
  /** The counter update for a claim of `job`, or null when the job takes nothing of this kind. */
  acquire(job: Job): Promise<CounterAcquisition | null>;
  /**
   * The update that gives `holding` back at `releasedAt` (unconditional: the state change carries
   * the fence). `releasedAt - holding.takenAt` is how long it was held (fair-share usage).
   */
  release(holding: Holding, releasedAt: Date): TransactionAction;
}

/**
 * A counter's condition failed because what its `acquire` read changed before the claim's
 * transaction (a limit raised or lowered): not a refusal. The store acquires again on what is
 * there now, a few times, and then treats it as a refusal with `waitingCode`.
 */
export class CounterChangedError extends Error {
  constructor(
    readonly kind: string,
    readonly key: string,
    readonly waitingCode: string,
  ) {
    super(`the ${kind} counter ${key} changed while a claim read it`);
    this.name = 'CounterChangedError';
  }
}
