import type { Condition, GuardValues } from './state-machine.ts';
import type { AttemptFence } from './store.ts';

/** Pieces of the store's update expressions (pure): the condition always comes from the transition table. */
export type Update = {
  UpdateExpression: string;
  ConditionExpression: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
};

/** An update's SET/REMOVE part; its condition comes from the transition table. */
export type UpdateParts = Omit<Update, 'ConditionExpression'>;

/** The update with the transition's condition (core/jobs/state-machine.ts), placeholders merged. */
export function withCondition(update: UpdateParts, condition: Condition): Update {
  return {
    ...update,
    ConditionExpression: condition.expression,
    ExpressionAttributeNames: { ...update.ExpressionAttributeNames, ...condition.names },
    ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ...condition.values },
  };
}

export const LEASE_ATTRIBUTES = 'leaseId, leaseWorkerId, leaseExpiresAt';

export function attemptIndex(attempt: number): number {
  const index = attempt - 1;
  // The index is spliced into the update expression, so it must be a plain non-negative integer.
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`bad attempt ${attempt}`);
  return index;
}

/** Fencing: only the holder of the attempt's lease, or recovery once that lease expired, may write. */
export function fenceValues(fence: AttemptFence): GuardValues {
  return { leaseId: fence.leaseId, attempt: fence.attempt, ...(fence.expiredBefore !== undefined ? { expiredBefore: fence.expiredBefore } : {}) };
}
