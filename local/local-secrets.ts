import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileSecretSlot, localAuthPaths } from '../core/auth/local-files.ts';
import { emulatorCredentials, type RuntimeConfig } from '../core/config.ts';
import { newDispatchKey } from '../core/jobs/dispatch-signature.ts';

/**
 * The local platform's own secrets, one set per data directory, kept 0600 under `<dataDir>/auth/`
 * and never written to local.json:
 *   dynamodb-access-key  the access key id DynamoDB Local files this platform's database under
 *                        (it runs without -sharedDb, so any other key sees an empty database)
 *   dispatch-key         the HMAC key submits sign job specs with and workers check
 */
export type LocalSecrets = Required<Pick<RuntimeConfig, 'emulatorCredentials' | 'dispatchKey'>>;

export function localSecretPaths(dataDir: string) {
  const { dir } = localAuthPaths(dataDir);
  return { dynamodbAccessKey: join(dir, 'dynamodb-access-key'), dispatchKey: join(dir, 'dispatch-key') };
}

/** An access key id DynamoDB Local can use in a file name (`<key>_<region>.db`): 128 bits, upper-case hex. */
function newAccessKeyId(): string {
  return randomBytes(16).toString('hex').toUpperCase();
}

async function loadOrCreate(path: string, create: () => string): Promise<string> {
  const slot = fileSecretSlot(path);
  const existing = await slot.read();
  if (existing) return existing;
  try {
    await slot.write(create());
  } catch (err) {
    // Another process created it first (exclusive write): use theirs.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return (await slot.read())!;
}

export async function loadOrCreateLocalSecrets(dataDir: string): Promise<LocalSecrets> {
  const paths = localSecretPaths(dataDir);
  return {
    emulatorCredentials: emulatorCredentials(await loadOrCreate(paths.dynamodbAccessKey, newAccessKeyId)),
    dispatchKey: await loadOrCreate(paths.dispatchKey, newDispatchKey),
  };
}

/** For processes joining a running platform (`runplane worker`): the secrets must exist already. */
export async function readLocalSecrets(dataDir: string): Promise<LocalSecrets> {
  const paths = localSecretPaths(dataDir);
  const accessKey = await fileSecretSlot(paths.dynamodbAccessKey).read();
  const dispatchKey = await fileSecretSlot(paths.dispatchKey).read();
  if (!accessKey || !dispatchKey) throw new Error(`the local platform's keys are missing under ${localAuthPaths(dataDir).dir}`);
  return { emulatorCredentials: emulatorCredentials(accessKey), dispatchKey };
}

/** The configuration as local.json records it: everything but the secrets. */
export function withoutSecrets(config: RuntimeConfig): RuntimeConfig {
  const { emulatorCredentials: _credentials, dispatchKey: _dispatchKey, ...rest } = config;
  return rest;
}
