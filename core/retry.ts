import { DependencyError } from './errors.ts';

/**
 * The one retry helper of the core, for what the SDK's own retries (SDK_MAX_ATTEMPTS on every
 * client, core/aws/client-options.ts) cannot cover: a batch call that succeeded only in part
 * (BatchWriteItem/BatchGetItem's unprocessed items), and a whole domain write that surfaced a
 * DependencyError after the SDK gave up. Full-jitter exponential backoff, bounded tries.
 */
export interface RetryOptions {
  /** Calls at most, the first included. */
  readonly tries: number;
  readonly baseMs?: number;
  readonly capMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). */
  readonly random?: () => number;
}

/** What one try reports: done with a value, or not yet (the reason becomes the final error's cause). */
export type TryOutcome<T> = { readonly done: true; readonly value: T } | { readonly done: false; readonly reason: unknown };

export class RetriesExhaustedError extends Error {
  constructor(
    readonly tries: number,
    readonly reason: unknown,
  ) {
    super(`gave up after ${tries} tries`, { cause: reason });
    this.name = 'RetriesExhaustedError';
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Full jitter: a random wait up to min(cap, base · 2^(attempt-1)). */
export function backoffMs(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** (attempt - 1)));
}

/**
 * Runs `attempt` until it reports done, waiting between tries; throws RetriesExhaustedError with
 * the last reason after `tries`. An exception thrown by `attempt` ends the retries at once.
 */
export async function retry<T>(attempt: (n: number) => Promise<TryOutcome<T>>, options: RetryOptions): Promise<T> {
  const { tries, baseMs = 50, capMs = 2_000, sleep = defaultSleep, random = Math.random } = options;
  for (let n = 1; ; n++) {
    const outcome = await attempt(n);
    if (outcome.done) return outcome.value;
    if (n >= tries) throw new RetriesExhaustedError(n, outcome.reason);
    await sleep(backoffMs(n, baseMs, capMs, random));
  }
}

/**
 * Retries `write` while it fails with a DependencyError (the store was unreachable after the SDK's
 * own tries); a domain answer (LeaseLostError, ...) or anything else ends it at once. After the last
 * try the last DependencyError itself is thrown.
 */
export async function retryDependency<T>(write: () => Promise<T>, options: Partial<RetryOptions> = {}): Promise<T> {
  try {
    return await retry<T>(
      async () => {
        try {
          return { done: true, value: await write() };
        } catch (err) {
          if (err instanceof DependencyError) return { done: false, reason: err };
          throw err;
        }
      },
      { tries: 8, baseMs: 200, capMs: 5_000, ...options },
    );
  } catch (err) {
    throw err instanceof RetriesExhaustedError ? err.reason : err;
  }
}
