/**
 * The deploy-time custom resource of lib/auth.ts (a `cr.Provider` onEvent handler), run on every
 * deploy (its properties carry a per-synth nonce) and idempotent:
 *
 * 1. the first admin key: `bootstrapAdminKey` with the admin-key secret as its SecretSlot, so the
 *    key's item (its hash) is in the jobs table, recorded in the audit chain, and the key itself
 *    exists only in the secret;
 * 2. the signing key: the signing-key secret holds the deployment's ES256 key document, generated
 *    on the first deploy; the public half comes back as data attributes, which the stack puts in
 *    the API functions' RUNPLANE_JWT_PUBLIC_KEYS / _ISSUER / _AUDIENCE. No private material leaves
 *    the secret: the response (which CloudFormation stores and shows) holds public keys and ids.
 *
 * Delete does nothing: the key item stays with the table, and the secrets follow their removal
 * policy. See specs/06-deployment.md ("Authentication on AWS") and specs/08-auth.md decision 16.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { JWK } from 'jose';
import * as z from 'zod';
import { auditedKeyWrites } from '../core/app/api-dependencies.ts';
import { DynamoDbAuditLog } from '../core/audit/dynamodb-audit-log.ts';
import { bootstrapAdminKey } from '../core/auth/bootstrap-admin-key.ts';
import { DynamoDbApiKeyStore } from '../core/auth/dynamodb-api-key-store.ts';
import { SecretConflictError, SecretsManagerSlot } from '../core/auth/secrets-manager-slot.ts';
import {
  MAX_TOKEN_TTL_SECONDS,
  generateSigningKey,
  parseSigningKey,
  publicJwk,
  type SigningKeyDocument,
} from '../core/auth/signing-key.ts';
import { createDocumentClient } from '../core/aws/dynamodb-client.ts';
import { jsonLogger, type Logger } from '../core/http/api-handler.ts';
import { systemClock, type Clock } from '../core/ids.ts';

/** The custom resource's properties, as lib/auth.ts sets them (CloudFormation passes strings). */
const propertiesSchema = z.object({
  JobsTable: z.string().min(1),
  AuditTable: z.string().min(1),
  AdminKeySecretId: z.string().min(1),
  SigningKeySecretId: z.string().min(1),
  /** `iss`/`aud` of a signing key generated now; an existing key keeps its own. */
  JwtIssuer: z.string().min(1).max(512),
  JwtAudience: z.string().min(1).max(512),
  /** Changes on every synth, so CloudFormation sends an Update on every deploy. Not read. */
  DeployNonce: z.string().optional(),
});

export type BootstrapResourceProperties = z.input<typeof propertiesSchema>;

/** The data attributes (`resource.getAttString(name)`). Public values only. */
export interface BootstrapData {
  readonly AdminKeyId: string;
  readonly SigningKeyId: string;
  readonly JwtIssuer: string;
  readonly JwtAudience: string;
  /** JWKS `{"keys":[...]}`: the current public key, and the previous one for 30 days after a rotation. */
  readonly PublicJwks: string;
}

export interface BootstrapResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: BootstrapData;
}

export interface BootstrapDependencies {
  readonly secrets: SecretsManagerClient;
  readonly documentClient: DynamoDBDocumentClient;
  readonly clock?: Clock;
  readonly log?: Logger;
}

/**
 * The handler over injected clients (tests use DynamoDB Local and a mocked Secrets Manager).
 * The physical id is the jobs table's name: stable across updates, so an update never turns into
 * a replacement (and CloudFormation never sends a Delete for an old id).
 */
export function createBootstrapHandler(dependencies: () => BootstrapDependencies) {
  return async (event: CloudFormationCustomResourceEvent): Promise<BootstrapResponse> => {
    const props = propertiesSchema.parse(event.ResourceProperties);
    const physicalId = `runplane-auth:${props.JobsTable}`;
    if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
    const data = await bootstrapDeployment(props, dependencies());
    return { PhysicalResourceId: physicalId, Data: data };
  };
}

/** Both steps, in order; safe to repeat, and to run after a crash part-way (see bootstrapAdminKey). */
export async function bootstrapDeployment(
  props: z.output<typeof propertiesSchema>,
  deps: BootstrapDependencies,
): Promise<BootstrapData> {
  const clock = deps.clock ?? systemClock;
  const log = deps.log ?? jsonLogger;
  const audit = new DynamoDbAuditLog({ client: deps.documentClient, tableName: props.AuditTable, clock });
  const admin = await bootstrapAdminKey({
    store: new DynamoDbApiKeyStore({ client: deps.documentClient, tableName: props.JobsTable }),
    secret: new SecretsManagerSlot({ client: deps.secrets, secretId: props.AdminKeySecretId }),
    audited: auditedKeyWrites(audit),
    clock,
  });
  const signing = await ensureSigningKey(
    new SecretsManagerSlot({ client: deps.secrets, secretId: props.SigningKeySecretId }),
    { issuer: props.JwtIssuer, audience: props.JwtAudience },
    clock(),
    log,
  );
  // Ids and flags only: the admin key itself never reaches a log or the response.
  log('info', 'deployment auth bootstrapped', {
    adminKeyId: admin.keyId,
    adminKeyGenerated: admin.generated,
    adminKeyStored: admin.stored,
    signingKeyId: signing.current.kid,
    signingKeyGenerated: signing.generated,
    publicKeys: signing.publicKeys.map((k) => k.kid),
  });
  return {
    AdminKeyId: admin.keyId,
    SigningKeyId: signing.current.kid,
    JwtIssuer: signing.current.issuer,
    JwtAudience: signing.current.audience,
    PublicJwks: JSON.stringify({ keys: signing.publicKeys }),
  };
}

export interface EnsuredSigningKey {
  readonly current: SigningKeyDocument;
  /** What the API verifies own tokens with: the current key first. */
  readonly publicKeys: JWK[];
  readonly generated: boolean;
}

/**
 * The signing key document in `slot`, generated into it when the secret is empty. After a rotation
 * (an operator's `put-secret-value` of a new document) the previous key (AWSPREVIOUS) stays
 * published until tokens it signed have expired, at most MAX_TOKEN_TTL_SECONDS after the new
 * version was written; the first deploy after that drops it.
 */
export async function ensureSigningKey(
  slot: SecretsManagerSlot,
  options: { issuer: string; audience: string },
  now: Date,
  log: Logger = jsonLogger,
): Promise<EnsuredSigningKey> {
  let current = await slot.readVersion('AWSCURRENT');
  let generated = false;
  if (!current) {
    try {
      await slot.write(JSON.stringify(await generateSigningKey(options)));
      generated = true;
    } catch (err) {
      // A concurrent first write won: its key is as good as ours, and ours was never stored.
      if (!(err instanceof SecretConflictError)) throw err;
    }
    current = await slot.readVersion('AWSCURRENT');
    if (!current) throw new Error(`signing key secret ${slot.secretId} is still empty after writing it`);
  }
  const doc = parseSigningKey(current.value);
  const publicKeys = [publicJwk(doc)];
  if (now.getTime() - current.createdAt.getTime() < MAX_TOKEN_TTL_SECONDS * 1000) {
    const previous = await slot.readVersion('AWSPREVIOUS');
    if (previous) {
      try {
        const old = parseSigningKey(previous.value);
        if (old.kid !== doc.kid) publicKeys.push(publicJwk(old));
      } catch (err) {
        // Not a signing key (a hand-edited secret): nothing to keep verifying.
        log('warn', 'previous signing key version ignored', { error: (err as Error).message });
      }
    }
  }
  return { current: doc, publicKeys, generated };
}

let clients: BootstrapDependencies | undefined;

export const handler = createBootstrapHandler(() => {
  clients ??= { secrets: new SecretsManagerClient({}), documentClient: createDocumentClient() };
  return clients;
});
