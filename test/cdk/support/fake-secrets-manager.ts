import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  type GetSecretValueCommandInput,
  type PutSecretValueCommandInput,
} from '@aws-sdk/client-secrets-manager';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';

interface Version {
  readonly token: string;
  readonly value: string;
  readonly createdAt: Date;
  stages: string[];
}

const meta = { $metadata: {} };

/**
 * Secrets Manager's version semantics, as far as core/auth/secrets-manager-slot.ts relies on them,
 * behind aws-sdk-client-mock: a secret created without a value has no AWSCURRENT version
 * (GetSecretValue → ResourceNotFoundException); PutSecretValue with a new ClientRequestToken makes
 * a new AWSCURRENT version and moves AWSPREVIOUS to the old one; a token naming an existing version
 * is a no-op with the same value and ResourceExistsException with another.
 */
export class FakeSecretsManager {
  readonly secrets = new Map<string, Version[]>();
  readonly stub: AwsClientStub<SecretsManagerClient>;
  /** Creation time of the next version. */
  now = new Date('2026-01-01T00:00:00Z');

  constructor() {
    this.stub = mockClient(SecretsManagerClient);
    this.stub.on(GetSecretValueCommand).callsFake((input: GetSecretValueCommandInput) => this.get(input));
    this.stub.on(PutSecretValueCommand).callsFake((input: PutSecretValueCommandInput) => this.put(input));
  }

  /** A secret as CloudFormation creates it without SecretString or GenerateSecretString. */
  createEmpty(secretId: string): void {
    this.secrets.set(secretId, []);
  }

  versions(secretId: string): readonly Version[] {
    return this.secrets.get(secretId) ?? [];
  }

  current(secretId: string): string | undefined {
    return this.versions(secretId).find((v) => v.stages.includes('AWSCURRENT'))?.value;
  }

  restore(): void {
    this.stub.restore();
  }

  private get(input: GetSecretValueCommandInput) {
    const versions = this.secrets.get(input.SecretId!);
    const stage = input.VersionStage ?? 'AWSCURRENT';
    const version = versions?.find((v) => v.stages.includes(stage));
    if (!versions) throw new ResourceNotFoundException({ ...meta, message: "Secrets Manager can't find the specified secret." });
    if (!version) {
      throw new ResourceNotFoundException({ ...meta, message: `Secrets Manager can't find the specified secret value for staging label: ${stage}` });
    }
    return { ARN: input.SecretId, SecretString: version.value, VersionId: version.token, VersionStages: version.stages, CreatedDate: version.createdAt };
  }

  private put(input: PutSecretValueCommandInput) {
    const versions = this.secrets.get(input.SecretId!);
    if (!versions) throw new ResourceNotFoundException({ ...meta, message: "Secrets Manager can't find the specified secret." });
    const token = input.ClientRequestToken ?? `generated-token-${String(versions.length).padStart(16, '0')}`;
    const existing = versions.find((v) => v.token === token);
    if (existing) {
      if (existing.value !== input.SecretString) {
        throw new ResourceExistsException({ ...meta, message: 'A resource with the ID you requested already exists.' });
      }
      return { ARN: input.SecretId, VersionId: token, VersionStages: existing.stages };
    }
    for (const v of versions) v.stages = v.stages.includes('AWSCURRENT') ? ['AWSPREVIOUS'] : [];
    versions.push({ token, value: input.SecretString!, createdAt: new Date(this.now), stages: ['AWSCURRENT'] });
    return { ARN: input.SecretId, VersionId: token, VersionStages: ['AWSCURRENT'] };
  }
}
