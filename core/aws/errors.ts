import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DependencyError } from '../errors.ts';

/** True for the SDK's ConditionalCheckFailedException, whichever client threw it. */
export function isConditionalCheckFailed(err: unknown): err is Error & { Item?: Record<string, unknown> } {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}

/**
 * The item a failed condition saw (ReturnValuesOnConditionCheckFailure: ALL_OLD), unmarshalled:
 * the document client leaves the exception's item in wire format. Undefined when there was no item.
 */
export function conditionFailedItem(err: { Item?: Record<string, unknown> }): Record<string, unknown> | undefined {
  return err.Item ? unmarshall(err.Item as Record<string, AttributeValue>) : undefined;
}

export function isTransactionCanceled(
  err: unknown,
): err is Error & { CancellationReasons?: { Code?: string; Item?: Record<string, unknown> }[] } {
  return err instanceof Error && err.name === 'TransactionCanceledException';
}

/** Anything the adapter does not understand becomes a DependencyError: a 503, never a leaked SDK detail. */
export function dependencyFailure(dependency: string, err: unknown): DependencyError {
  return new DependencyError(dependency, err);
}
