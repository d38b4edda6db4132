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

/**
 * A failure of the service or of the way to it: an SDK error (it carries `$metadata`), a socket
 * error (`code`), or a plain Error an adapter raised about the service's answers (unprocessed
 * items after its retries). Anything else thrown under an adapter (a TypeError, a serialization
 * error of the request's own data) is a bug or a missed validation, not an outage.
 */
export function isServiceFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof DependencyError) return true;
  if ('$metadata' in err || '$fault' in err) return true;
  if (typeof (err as { code?: unknown }).code === 'string') return true;
  return err.name === 'Error' || err.name === 'TimeoutError' || err.name === 'AbortError';
}

/**
 * A service failure the adapter does not understand becomes a DependencyError: a 503, never a
 * leaked SDK detail. Other errors pass unchanged, so the API answers them 500 and logs them: a
 * client's mistake dressed as an outage would be retried by clients and counted by the 5xx alarm
 * as the service's.
 */
export function dependencyFailure(dependency: string, err: unknown): DependencyError | Error {
  if (err instanceof DependencyError) return err;
  if (isServiceFailure(err) || !(err instanceof Error)) return new DependencyError(dependency, err);
  return err;
}
