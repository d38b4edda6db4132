import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DependencyError } from '../errors.ts';
import type { SecretSlot } from './bootstrap-admin-key.ts';

/**
 * The ClientRequestToken of every first write. Secrets Manager treats a PutSecretValue whose token
 * names an existing version as idempotent when the value is the same and refuses it
 * (ResourceExistsException) when it differs, so two writers racing to fill an empty secret cannot
 * both succeed with different values: the fixed token makes PutSecretValue a compare-and-set on
 * "still empty". (32 characters, the minimum Secrets Manager accepts.)
 */
export const FIRST_VALUE_VERSION_TOKEN = 'runplane-initial-secret-value-v1';

/** Another writer filled the secret first, with a different value; nothing was replaced. */
export class SecretConflictError extends Error {
  constructor(
    readonly secretId: string,
    options?: ErrorOptions,
  ) {
    super(`secret ${secretId} was filled by another writer with a different value`, options);
    this.name = 'SecretConflictError';
  }
}

/** One version of a secret, as `readVersion` returns it. */
export interface SecretVersion {
  readonly value: string;
  /** When this version was written (Secrets Manager's CreatedDate). */
  readonly createdAt: Date;
}

export interface SecretsManagerSlotOptions {
  readonly client: SecretsManagerClient;
  /** The secret's ARN or name. The secret must exist; it may be empty (no version yet). */
  readonly secretId: string;
}

/**
 * A SecretSlot over one Secrets Manager secret: `read` is GetSecretValue of the AWSCURRENT version
 * (undefined while the secret has none), `write` fills an empty secret with a PutSecretValue under
 * FIRST_VALUE_VERSION_TOKEN, which can never replace a different value a concurrent writer stored.
 * IAM: `secretsmanager:GetSecretValue` and `secretsmanager:PutSecretValue` on the secret.
 *
 * @example
 * const slot = new SecretsManagerSlot({ client: new SecretsManagerClient({}), secretId: 'runplane/admin-key' });
 * await bootstrapAdminKey({ store, secret: slot, audited });
 */
export class SecretsManagerSlot implements SecretSlot {
  private readonly client: SecretsManagerClient;
  readonly secretId: string;

  constructor(options: SecretsManagerSlotOptions) {
    this.client = options.client;
    this.secretId = options.secretId;
  }

  async read(): Promise<string | undefined> {
    return (await this.readVersion('AWSCURRENT'))?.value;
  }

  /**
   * The version carrying `stage` (AWSCURRENT, or AWSPREVIOUS after a rotation), or undefined when no
   * version carries it. A version holding an empty string counts as none.
   */
  async readVersion(stage: string): Promise<SecretVersion | undefined> {
    let out;
    try {
      out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId, VersionStage: stage }));
    } catch (err) {
      // An empty secret (created without a value) answers ResourceNotFoundException for AWSCURRENT,
      // the same as a stage no version carries. A secret that does not exist at all reads the same
      // way and fails at `write`, which cannot find it either.
      if (errorName(err) === 'ResourceNotFoundException') return undefined;
      throw new DependencyError('secrets manager', err);
    }
    if (out.SecretString === undefined) {
      // A binary secret was not written by Runplane: refuse rather than overwrite or misread it.
      if (out.SecretBinary !== undefined) throw new DependencyError('secrets manager', new Error(`secret ${this.secretId} holds binary data, not text`));
      return undefined;
    }
    if (out.SecretString === '') return undefined;
    return { value: out.SecretString, createdAt: out.CreatedDate ?? new Date(0) };
  }

  /**
   * Fills the empty secret with `value`. Writing the value already there is a no-op; a different
   * value already written by another first write throws SecretConflictError (read again and use
   * that one). Do not call it to rotate a secret that has a value: rotation is an operator's
   * `put-secret-value`, under a token of its own.
   */
  async write(value: string): Promise<void> {
    if (value === '') throw new RangeError('a secret value must not be empty');
    try {
      await this.client.send(
        new PutSecretValueCommand({ SecretId: this.secretId, SecretString: value, ClientRequestToken: FIRST_VALUE_VERSION_TOKEN }),
      );
    } catch (err) {
      if (errorName(err) === 'ResourceExistsException') throw new SecretConflictError(this.secretId, { cause: err });
      throw new DependencyError('secrets manager', err);
    }
  }
}

function errorName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}
