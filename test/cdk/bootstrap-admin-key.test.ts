import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, CloudFormationCustomResourceEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiDependencies } from '../../core/app/api-dependencies.ts';
import { DynamoDbAuditLog } from '../../core/audit/dynamodb-audit-log.ts';
import { hashApiKey, parseApiKey } from '../../core/auth/api-key.ts';
import { DynamoDbApiKeyStore } from '../../core/auth/dynamodb-api-key-store.ts';
import { generateSigningKey, mintToken, parseSigningKey, type SigningKeyDocument } from '../../core/auth/signing-key.ts';
import { loadRuntimeConfig } from '../../core/config.ts';
import { AUDIT_TABLE, JOBS_TABLE, tableName } from '../../core/resources.ts';
import { createBootstrapHandler, type BootstrapData, type BootstrapResourceProperties } from '../../lambdas/bootstrap-admin-key.ts';
import { createTestEnvironment, type TestEnvironment } from '../support/emulators.ts';
import { FakeSecretsManager } from './support/fake-secrets-manager.ts';

/**
 * The deploy-time custom resource handler (lib/auth.ts) against DynamoDB Local and a fake Secrets
 * Manager: what a first deploy, later deploys, a rotation and a stack deletion do, and that the
 * data it hands CloudFormation is exactly what the API needs to accept the admin key and tokens.
 */
const ADMIN_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:runplane/admin-key-AbCdEf';
const SIGNING_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:runplane/signing-key-GhIjKl';
const DAY = 24 * 3600 * 1000;

describe('auth bootstrap custom resource', () => {
  let env: TestEnvironment;
  let sm: FakeSecretsManager;
  let now: Date;
  let logs: string[];
  let props: BootstrapResourceProperties;

  const handler = () =>
    createBootstrapHandler(() => ({
      secrets: new SecretsManagerClient({ region: 'us-east-1' }),
      documentClient: env.documentClient,
      clock: () => now,
      log: (level, message, fields) => logs.push(JSON.stringify({ level, message, ...fields })),
    }));
  const event = (RequestType: 'Create' | 'Update' | 'Delete', extra: Partial<BootstrapResourceProperties> = {}) =>
    ({
      RequestType,
      ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:provider',
      ResponseURL: 'https://cloudformation-custom-resource-response.example.com/',
      StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/runplane/1',
      RequestId: 'request',
      LogicalResourceId: 'AuthBootstrap',
      ResourceType: 'Custom::RunplaneAuthBootstrap',
      ...(RequestType === 'Create' ? {} : { PhysicalResourceId: `runplane-auth:${props.JobsTable}`, OldResourceProperties: props }),
      ResourceProperties: { ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:provider', ...props, ...extra },
    }) as CloudFormationCustomResourceEvent;
  const deploy = async (type: 'Create' | 'Update' = 'Update') => {
    const out = await handler()(event(type, { DeployNonce: now.toISOString() }));
    return out.Data!;
  };
  const adminKey = () => sm.current(ADMIN_SECRET)!;
  const signingKey = (): SigningKeyDocument => parseSigningKey(sm.current(SIGNING_SECRET)!);

  /** The API as the stack configures it: the bootstrap's data attributes in its environment. */
  const api = (data: BootstrapData) =>
    createApiDependencies(
      loadRuntimeConfig({
        RUNPLANE_JOBS_TABLE: props.JobsTable,
        RUNPLANE_EVENTS_TABLE: `${env.prefix}-events`,
        RUNPLANE_AUDIT_TABLE: props.AuditTable,
        RUNPLANE_QUEUES: JSON.stringify([{ pool: 'default', url: 'http://queue', deadLetterUrl: 'http://dlq' }]),
        RUNPLANE_DYNAMODB_ENDPOINT: env.dynamoEndpoint,
        RUNPLANE_JWT_ISSUER: data.JwtIssuer,
        RUNPLANE_JWT_AUDIENCE: data.JwtAudience,
        RUNPLANE_JWT_PUBLIC_KEYS: data.PublicJwks,
      }),
      { clock: () => now, log: () => undefined },
    );
  const request = (token: string) =>
    ({ headers: { authorization: `Bearer ${token}` }, routeKey: 'GET /v1/jobs', requestContext: { requestId: 'r', http: { sourceIp: '127.0.0.1' } } }) as unknown as APIGatewayProxyEventV2;

  beforeAll(async () => {
    env = await createTestEnvironment();
  });
  afterAll(async () => {
    await env.cleanup();
  });
  beforeEach(() => {
    sm = new FakeSecretsManager();
    sm.createEmpty(ADMIN_SECRET);
    sm.createEmpty(SIGNING_SECRET);
    now = new Date('2026-03-01T12:00:00Z');
    logs = [];
    props = {
      // The tables are shared by the tests; each starts with empty secrets, so each makes its own
      // admin key (and audit entries only ever add up).
      JobsTable: tableName(env.prefix, JOBS_TABLE),
      AuditTable: tableName(env.prefix, AUDIT_TABLE),
      AdminKeySecretId: ADMIN_SECRET,
      SigningKeySecretId: SIGNING_SECRET,
      JwtIssuer: 'runplane',
      JwtAudience: 'runplane-api',
    };
  });
  afterEach(() => sm.restore());

  it('on the first deploy, fills both secrets and stores only the admin key’s hash, audited', async () => {
    const audit = new DynamoDbAuditLog({ client: env.documentClient, tableName: props.AuditTable });
    const entriesBefore = (await audit.verify()).entries;
    const out = await handler()(event('Create'));

    const key = adminKey();
    const { id } = parseApiKey(key)!;
    expect(out.PhysicalResourceId).toBe(`runplane-auth:${props.JobsTable}`);
    expect(out.Data!.AdminKeyId).toBe(id);
    const stored = await new DynamoDbApiKeyStore({ client: env.documentClient, tableName: props.JobsTable }).get(id);
    expect(stored).toMatchObject({ role: 'admin', hash: hashApiKey(key), createdBy: 'bootstrap', expiresAt: null, revokedAt: null });

    const doc = signingKey();
    expect(out.Data).toMatchObject({ SigningKeyId: doc.kid, JwtIssuer: 'runplane', JwtAudience: 'runplane-api' });
    const { keys } = JSON.parse(out.Data!.PublicJwks) as { keys: Record<string, unknown>[] };
    expect(keys).toEqual([expect.objectContaining({ kty: 'EC', crv: 'P-256', kid: doc.kid, alg: 'ES256', x: doc.privateKey.x, y: doc.privateKey.y })]);
    expect(keys[0]).not.toHaveProperty('d');

    // What CloudFormation stores and the logs hold: ids and public keys, never a secret.
    for (const text of [JSON.stringify(out), ...logs]) {
      expect(text).not.toContain(key);
      expect(text).not.toContain(String(doc.privateKey.d));
    }
    const verified = await audit.verify();
    expect(verified.ok).toBe(true);
    expect(verified.entries).toBe(entriesBefore + 1);
  });

  it('gives the API exactly what it needs to accept the admin key and minted tokens', async () => {
    const data = await deploy('Create');
    const { authenticate } = api(data);
    await expect(authenticate(request(adminKey()))).resolves.toMatchObject({ role: 'admin', subject: `apikey:${data.AdminKeyId}` });
    const token = await mintToken(signingKey(), { subject: 'ci', role: 'member', groups: ['ml'], ttlSeconds: 600 }, now);
    await expect(authenticate(request(token))).resolves.toMatchObject({ subject: 'ci', role: 'member', groups: ['ml'] });
  });

  it('changes nothing on later deploys: same key, same public key, no new versions, no new audit entry', async () => {
    const first = await deploy('Create');
    const audit = new DynamoDbAuditLog({ client: env.documentClient, tableName: props.AuditTable });
    const entries = (await audit.verify()).entries;
    now = new Date(now.getTime() + DAY);
    const second = await deploy('Update');
    const third = await deploy('Update');
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    expect(sm.versions(ADMIN_SECRET)).toHaveLength(1);
    expect(sm.versions(SIGNING_SECRET)).toHaveLength(1);
    expect((await audit.verify()).entries).toBe(entries);
  });

  it('stores the key again in a table that lost it (a restored or recreated table)', async () => {
    const first = await deploy('Create');
    const other = await createTestEnvironment();
    try {
      props = { ...props, JobsTable: tableName(other.prefix, JOBS_TABLE), AuditTable: tableName(other.prefix, AUDIT_TABLE) };
      const again = await deploy('Update');
      expect(again.AdminKeyId).toBe(first.AdminKeyId);
      const store = new DynamoDbApiKeyStore({ client: env.documentClient, tableName: props.JobsTable });
      await expect(store.get(first.AdminKeyId)).resolves.toMatchObject({ hash: hashApiKey(adminKey()) });
    } finally {
      await other.cleanup();
    }
  });

  it('never brings back an admin key that was revoked', async () => {
    const { AdminKeyId } = await deploy('Create');
    const store = new DynamoDbApiKeyStore({ client: env.documentClient, tableName: props.JobsTable });
    await store.revoke(AdminKeyId, 'apikey:someone', now);
    await deploy('Update');
    await expect(store.get(AdminKeyId)).resolves.toMatchObject({ revokedBy: 'apikey:someone' });
  });

  it('keeps publishing the previous signing key for 30 days after a rotation', async () => {
    const first = await deploy('Create');
    const oldDoc = signingKey();
    const oldToken = await mintToken(oldDoc, { subject: 'old', role: 'viewer', groups: ['ml'], ttlSeconds: 3600 }, now);

    // The operator rotates: put-secret-value with a new document, then deploys.
    const newDoc = await generateSigningKey();
    sm.now = now;
    await new SecretsManagerClient({ region: 'us-east-1' }).send(
      new PutSecretValueCommand({ SecretId: SIGNING_SECRET, SecretString: JSON.stringify(newDoc) }),
    );
    const rotated = await deploy('Update');
    expect(rotated.SigningKeyId).toBe(newDoc.kid);
    expect((JSON.parse(rotated.PublicJwks) as { keys: { kid: string }[] }).keys.map((k) => k.kid)).toEqual([newDoc.kid, oldDoc.kid]);
    expect(rotated.AdminKeyId).toBe(first.AdminKeyId);
    // Tokens signed with either key verify meanwhile.
    const { authenticate } = api(rotated);
    await expect(authenticate(request(oldToken))).resolves.toMatchObject({ subject: 'old' });
    const newToken = await mintToken(newDoc, { subject: 'new', role: 'viewer', groups: ['ml'], ttlSeconds: 3600 }, now);
    await expect(authenticate(request(newToken))).resolves.toMatchObject({ subject: 'new' });

    // The first deploy after every old token has expired drops the old key.
    now = new Date(now.getTime() + 31 * DAY);
    const later = await deploy('Update');
    expect((JSON.parse(later.PublicJwks) as { keys: { kid: string }[] }).keys.map((k) => k.kid)).toEqual([newDoc.kid]);
  });

  it('refuses a signing key secret that holds something else, failing the deploy', async () => {
    await new SecretsManagerClient({ region: 'us-east-1' }).send(
      new PutSecretValueCommand({ SecretId: SIGNING_SECRET, SecretString: 'not a key' }),
    );
    await expect(deploy('Create')).rejects.toThrow('signing key');
  });

  it('does nothing on delete: the key item stays with the table, the secrets follow their removal policy', async () => {
    await deploy('Create');
    sm.stub.resetHistory();
    const out = await handler()(event('Delete'));
    expect(out).toEqual({ PhysicalResourceId: `runplane-auth:${props.JobsTable}` });
    expect(sm.stub.calls()).toHaveLength(0);
  });
});
