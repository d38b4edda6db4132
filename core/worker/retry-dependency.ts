import { DependencyError } from '../errors.ts';

/** Retries writes that failed for a transient reason; a domain answer (lease lost) ends it at once. */
export async function retryDependency<T>(fn: () => Promise<T>, tries = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof DependencyError) || i >= tries) throw err;
      await sleep(Math.min(5_000, 100 * 2 ** i) * (0.5 + Math.random() / 2));
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
