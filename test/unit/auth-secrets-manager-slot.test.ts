import {
  GetSecretValueCommand,
  InternalServiceError,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashApiKey, parseApiKey } from '../../core/auth/api-key.ts';
import type { ApiKeyRecord, ApiKeyStore } from '../../core/auth/api-key-store.ts';
import { bootstrapAdminKey } from '../../core/auth/bootstrap-admin-key.ts';
import { FIRST_VALUE_VERSION_TOKEN, SecretConflictError, SecretsManagerSlot } from '../../core/auth/secrets-manager-slot.ts';
import { DependencyError } from '../../core/errors.ts';
import { FakeSecretsManager } from '../cdk/support/fake-secrets-manager.ts';

const SECRET_ID = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:runplane/admin-key-AbCdEf';
const meta = { $metadata: {} };

describe('SecretsManagerSlot', () => {
  let fake: FakeSecretsManager;
  let slot: SecretsManagerSlot;

  beforeEach(() => {
    fake = new FakeSecretsManager();
    fake.createEmpty(SECRET_ID);
    slot = new SecretsManagerSlot({ client: new SecretsManagerClient({ region: 'us-east-1' }), secretId: SECRET_ID });
  });
  afterEach(() => fake.restore());

  it('reads nothing from a secret created without a value', async () => {
    await expect(slot.read()).resolves.toBeUndefined();
    expect(fake.stub.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: SECRET_ID, VersionStage: 'AWSCURRENT' });
  });

  it('fills the empty secret under the fixed first-value token and reads it back', async () => {
    await slot.write('rp_value');
    expect(fake.stub.commandCalls(PutSecretValueCommand)[0]!.args[0].input).toEqual({
      SecretId: SECRET_ID,
      SecretString: 'rp_value',
      ClientRequestToken: FIRST_VALUE_VERSION_TOKEN,
    });
    await expect(slot.read()).resolves.toBe('rp_value');
  });

  it('lets exactly one of two racing first writes win, without replacing the winner', async () => {
    const other = new SecretsManagerSlot({ client: new SecretsManagerClient({ region: 'us-east-1' }), secretId: SECRET_ID });
    const results = await Promise.allSettled([slot.write('first'), other.write('second')]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = results.find((r) => r.status === 'rejected')!;
    expect(rejected.reason).toBeInstanceOf(SecretConflictError);
    expect(fake.versions(SECRET_ID)).toHaveLength(1);
    await expect(slot.read()).resolves.toBe(results[0]!.status === 'fulfilled' ? 'first' : 'second');
  });

  it('treats writing the value already stored as done (a retried deploy)', async () => {
    await slot.write('same');
    await expect(slot.write('same')).resolves.toBeUndefined();
    expect(fake.versions(SECRET_ID)).toHaveLength(1);
  });

  it('reads an earlier version by stage after a rotation, with its time', async () => {
    await slot.write('old');
    fake.now = new Date('2026-02-01T00:00:00Z');
    // An operator's rotation: `aws secretsmanager put-secret-value` with a token of its own.
    await new SecretsManagerClient({ region: 'us-east-1' }).send(
      new PutSecretValueCommand({ SecretId: SECRET_ID, SecretString: 'new', ClientRequestToken: 'operator-rotation-0000000000000001' }),
    );
    await expect(slot.read()).resolves.toBe('new');
    await expect(slot.readVersion('AWSCURRENT')).resolves.toEqual({ value: 'new', createdAt: new Date('2026-02-01T00:00:00Z') });
    await expect(slot.readVersion('AWSPREVIOUS')).resolves.toEqual({ value: 'old', createdAt: new Date('2026-01-01T00:00:00Z') });
  });

  it.each([
    ['an empty string', { SecretString: '' }, undefined],
    ['no value at all', {}, undefined],
  ])('reads %s as no value', async (_case, output, expected) => {
    fake.stub.on(GetSecretValueCommand).resolves(output);
    await expect(slot.read()).resolves.toBe(expected);
  });

  it('refuses a binary secret instead of misreading it', async () => {
    fake.stub.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1, 2, 3]) });
    await expect(slot.read()).rejects.toBeInstanceOf(DependencyError);
  });

  it('turns other SDK failures into DependencyError, keeping the cause', async () => {
    const outage = new InternalServiceError({ ...meta, message: 'boom' });
    fake.stub.on(GetSecretValueCommand).rejects(outage);
    fake.stub.on(PutSecretValueCommand).rejects(new ResourceNotFoundException({ ...meta, message: "Secrets Manager can't find the specified secret." }));
    const readError = await slot.read().catch((e: unknown) => e);
    expect(readError).toBeInstanceOf(DependencyError);
    expect((readError as DependencyError).cause).toBe(outage);
    // Writing to a secret that does not exist is a broken deployment, not a race.
    await expect(slot.write('x')).rejects.toBeInstanceOf(DependencyError);
  });

  it('refuses to write an empty value (it would read back as "no value")', async () => {
    await expect(slot.write('')).rejects.toBeInstanceOf(RangeError);
    expect(fake.stub.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });

  describe('as the admin key slot of bootstrapAdminKey', () => {
    /** Just enough of a key store: createIfAbsent over a map. */
    const memoryStore = () => {
      const records = new Map<string, ApiKeyRecord>();
      const store: Pick<ApiKeyStore, 'createIfAbsent'> = {
        createIfAbsent: async (record) => {
          if (records.has(record.id)) return false;
          records.set(record.id, record);
          return true;
        },
      };
      return { records, store: store as ApiKeyStore };
    };

    it('generates the key into the secret once, stores only its hash, and is idempotent', async () => {
      const { records, store } = memoryStore();
      const first = await bootstrapAdminKey({ store, secret: slot });
      expect(first).toMatchObject({ generated: true, stored: true });
      const key = await slot.read();
      expect(parseApiKey(key!)?.id).toBe(first.keyId);
      expect(records.get(first.keyId)).toMatchObject({ role: 'admin', hash: hashApiKey(key!), expiresAt: null });
      expect(JSON.stringify([...records.values()])).not.toContain(key);

      const again = await bootstrapAdminKey({ store, secret: slot });
      expect(again).toEqual({ keyId: first.keyId, generated: false, stored: false });
      expect(fake.versions(SECRET_ID)).toHaveLength(1);
    });

    it('re-stores the key of an existing secret in an empty table (a restored or recreated table)', async () => {
      const { store } = memoryStore();
      const { keyId } = await bootstrapAdminKey({ store, secret: slot });
      const fresh = memoryStore();
      await expect(bootstrapAdminKey({ store: fresh.store, secret: slot })).resolves.toEqual({ keyId, generated: false, stored: true });
    });
  });
});
