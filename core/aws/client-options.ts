import type { RequestMeter } from './request-meter.ts';

/**
 * SDK client construction, one module per client so that a Lambda bundle contains only the
 * clients its handler uses (the SDK packages are not marked side-effect free, so an unused import
 * would stay in the bundle).
 */
export interface ClientOptions {
  readonly region?: string;
  /** Emulator endpoint (DynamoDB Local, fauxqs, LocalStack); AWS's own when omitted. */
  readonly endpoint?: string;
  /** The SDK's own retries of throttling and transient errors (default SDK_MAX_ATTEMPTS). */
  readonly maxAttempts?: number;
  /** Counts calls and DynamoDB capacity (the benchmark's cost model); none by default. */
  readonly meter?: RequestMeter;
}

/**
 * Tries per SDK call, set explicitly rather than left to the SDK's default (3): transient errors
 * and throttling are retried by the SDK with its own backoff and jitter, so the adapters keep no
 * retry loops of their own for them (core/retry.ts covers what the SDK cannot: a DependencyError
 * surfacing from a whole domain write).
 */
export const SDK_MAX_ATTEMPTS = 4;

// Emulators accept any credentials; giving fixed ones keeps the SDK from searching the machine for them.
export const EMULATOR_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
