/**
 * SDK client construction, one module per client so that a Lambda bundle contains only the
 * clients its handler uses (the SDK packages are not marked side-effect free, so an unused import
 * would stay in the bundle).
 */
export interface ClientOptions {
  readonly region?: string;
  /** Emulator endpoint (DynamoDB Local, fauxqs, LocalStack); AWS's own when omitted. */
  readonly endpoint?: string;
}

// Emulators accept any credentials; giving fixed ones keeps the SDK from searching the machine for them.
export const EMULATOR_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
