import { systemClock, type Clock } from '../ids.ts';
import { generateApiKey, hashApiKey, parseApiKey } from './api-key.ts';
import type { ApiKeyStore } from './api-key-store.ts';
import { unaudited, type AuditedWrite } from './api-key-service.ts';

/**
 * Where the first admin key is kept outside the table: a 0600 file locally
 * (core/auth/local-files.ts `fileSecretSlot`), a Secrets Manager secret on AWS.
 */
export interface SecretSlot {
  /** The stored value, or undefined when nothing is stored yet. */
  read(): Promise<string | undefined>;
  /** Stores the value; must not silently replace a different value written concurrently. */
  write(value: string): Promise<void>;
}

export interface BootstrapAdminKeyOptions {
  readonly store: ApiKeyStore;
  readonly secret: SecretSlot;
  readonly clock?: Clock;
  /** Groups of the first admin; admins act in every group, this is only where their own jobs go by default. */
  readonly groups?: readonly string[];
  /** Records the key's creation in the audit chain, in the same transaction. */
  readonly audited?: AuditedWrite;
}

export interface BootstrapAdminKeyResult {
  readonly keyId: string;
  /** A new key was generated and written to the secret (first deployment, first local start). */
  readonly generated: boolean;
  /** The key item was written to the table now (first run, or a fresh table behind an old secret). */
  readonly stored: boolean;
}

/**
 * Makes sure the deployment has its first admin key, idempotently, so it can run on every deploy
 * (a CloudFormation custom resource) or every local start:
 * 1. the secret holds a key → make sure the table has its item (a wiped local database, a
 *    restored table), never resurrecting it if an admin revoked it;
 * 2. the secret is empty → generate a key, write the secret first, then the item. In that order
 *    a crash between the two leaves a key that step 1 stores next time, never an admin key
 *    that exists only in the table where nobody can read it.
 * The key never appears in the result, so whoever runs this can log the result safely.
 */
export async function bootstrapAdminKey(options: BootstrapAdminKeyOptions): Promise<BootstrapAdminKeyResult> {
  const clock = options.clock ?? systemClock;
  let token = (await options.secret.read())?.trim();
  let generated = false;
  if (token) {
    if (!parseApiKey(token)) throw new Error('the admin key secret holds something that is not a Runplane API key');
  } else {
    token = generateApiKey().token;
    await options.secret.write(token);
    generated = true;
  }
  const { id } = parseApiKey(token)!;
  const record = {
    id,
    name: 'bootstrap admin',
    hash: hashApiKey(token),
    role: 'admin' as const,
    groups: options.groups ?? ['default'],
    createdBy: 'bootstrap',
    createdAt: clock().toISOString(),
    // Deliberately without expiry: it is the way back in. Revoke it once personal admin keys exist.
    expiresAt: null,
    revokedAt: null,
    revokedBy: null,
  };
  // When the item already exists the transaction is cancelled as a whole: no second audit entry.
  const stored = await (options.audited ?? unaudited)(
    { actor: 'bootstrap', action: 'apikey.create', target: `apikey:${id}`, details: { name: record.name, role: 'admin', groups: [...record.groups], expiresAt: null } },
    (extraActions) => options.store.createIfAbsent(record, { extraActions }),
  );
  return { keyId: id, generated, stored };
}
