/**
 * SDK client construction, one module per client so that a Lambda bundle contains only the
 * clients its handler uses (the SDK packages are not marked side-effect free, so an unused import
 * would stay in the bundle).
 */
export interface ClientOptions {
  readonly region?: string;
  /** Emulator endpoint (DynamoDB Local, fauxqs, LocalStack); AWS's own when omitted. */
  readonly endpoint?: string;
  /** With an endpoint: the emulator's credentials (the platform's DynamoDB Local key); EMULATOR_CREDENTIALS when omitted. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** A deployment's DynamoDB client options: its region, and locally the emulator's endpoint and key. */
export function dynamoDbClientOptions(config: {
  readonly region: string;
  readonly endpoints: { readonly dynamodb?: string };
  readonly emulatorCredentials?: ClientOptions['credentials'];
}): ClientOptions {
  return {
    region: config.region,
    ...(config.endpoints.dynamodb ? { endpoint: config.endpoints.dynamodb } : {}),
    ...(config.endpoints.dynamodb && config.emulatorCredentials ? { credentials: config.emulatorCredentials } : {}),
  };
}

// Emulators accept any credentials; giving fixed ones keeps the SDK from searching the machine for them.
export const EMULATOR_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
