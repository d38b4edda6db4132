import { DependencyError } from '../errors.ts';

/** True for the SDK's ConditionalCheckFailedException, whichever client threw it. */
export function isConditionalCheckFailed(err: unknown): err is Error & { Item?: Record<string, unknown> } {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
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
