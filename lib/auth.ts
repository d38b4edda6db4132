import { type CfnResource, CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER } from '../core/auth/signing-key.ts';
import { AUDIT_TABLE, JOBS_TABLE } from '../core/resources.ts';
import type { BootstrapData, BootstrapResourceProperties } from '../lambdas/bootstrap-admin-key.ts';
import { AUDIT_GRANTS, JOBS_GRANTS, grantTable } from './access.ts';
import type { RunplaneData } from './data.ts';
import { HandlerFunction } from './handler-function.ts';
import type { OidcSettings } from './settings.ts';

export interface RunplaneAuthProps {
  /** Secret names are `${prefix}/admin-key` and `${prefix}/signing-key`. */
  readonly prefix: string;
  readonly data: RunplaneData;
  /** Of both secrets: RETAIN with protected data (the table keeps the admin key's hash). */
  readonly secretRemovalPolicy: RemovalPolicy;
  /** An external OIDC issuer the API also accepts. */
  readonly oidc?: OidcSettings;
  /** Longest JWT lifetime the API accepts (RUNPLANE_JWT_MAX_LIFETIME_SECONDS). */
  readonly maxTokenLifetimeSeconds?: number;
  /**
   * A value that changes on every synth (bin/cdk.ts: the synth time), so CloudFormation updates the
   * bootstrap resource, and re-runs its idempotent handler, on every deploy.
   */
  readonly deployNonce: string;
}

/**
 * Authentication on AWS (specs/08-auth.md, decision 16; specs/06-deployment.md):
 * - the admin-key secret, created empty, filled with the first admin API key by the bootstrap;
 * - the signing-key secret, created empty, filled with the deployment's ES256 key document;
 * - the bootstrap custom resource (lambdas/bootstrap-admin-key.ts behind a `cr.Provider`), run on
 *   every deploy: makes sure the admin key's item (its hash) is in the jobs table and returns the
 *   signing key's public JWKS, issuer and audience as data attributes;
 * - `environment`: what the API's authenticating functions read (core/config.ts), public values only.
 */
export class RunplaneAuth extends Construct {
  readonly adminKeySecret: secretsmanager.Secret;
  readonly signingKeySecret: secretsmanager.Secret;
  /** The secrets' names, as literals (the Secret's own `secretName` is parsed out of its ARN at deploy time). */
  readonly adminKeySecretName: string;
  readonly signingKeySecretName: string;
  readonly bootstrapFunction: HandlerFunction;
  readonly provider: cr.Provider;
  /** The provider framework's onEvent function's role and log group (the framework's function is CDK's own). */
  readonly providerRole: iam.Role;
  readonly providerLogGroup: logs.LogGroup;
  readonly bootstrap: CustomResource;
  readonly environment: Record<string, string>;

  constructor(scope: Construct, id: string, props: RunplaneAuthProps) {
    super(scope, id);
    const { data } = props;

    this.adminKeySecretName = `${props.prefix}/admin-key`;
    this.signingKeySecretName = `${props.prefix}/signing-key`;
    this.adminKeySecret = this.emptySecret('AdminKeySecret', this.adminKeySecretName, {
      description: 'Runplane: the first admin API key (rp_...). Written once by the deploy-time bootstrap; revoke it once personal admin keys exist.',
      removalPolicy: props.secretRemovalPolicy,
      rotation:
        'The value is an API key, not a credential Secrets Manager can rotate: a new admin key is made with POST /v1/api-keys and this one is revoked, which a rotation Lambda could not do without becoming a second key-issuing path.',
    });
    this.signingKeySecret = this.emptySecret('SigningKeySecret', this.signingKeySecretName, {
      description: "Runplane: the deployment's ES256 token signing key document (private). Written once by the deploy-time bootstrap; `runplane token --key-file` mints tokens with it.",
      removalPolicy: props.secretRemovalPolicy,
      rotation:
        'Rotating the signing key means publishing the new public key before tokens signed with the old one expire; it is done by putting a new key document and redeploying (the bootstrap publishes the previous key for 30 days), see specs/06-deployment.md.',
    });

    this.bootstrapFunction = new HandlerFunction(this, 'BootstrapHandler', {
      entry: 'lambdas/bootstrap-admin-key.ts',
      description: 'deploy-time auth bootstrap (first admin key, signing key)',
      // Everything it needs comes in the custom resource's properties.
      environment: {},
      memorySize: 256,
      timeout: Duration.minutes(2),
    });
    const fn = this.bootstrapFunction;
    // bootstrapAdminKey: the key item and the index item in one transaction with the audit entry.
    grantTable(fn, data.jobs, JOBS_TABLE, JOBS_GRANTS.createApiKeys);
    grantTable(fn, data.audit, AUDIT_TABLE, AUDIT_GRANTS.append);
    fn.allow(['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'], [this.adminKeySecret.secretArn, this.signingKeySecret.secretArn]);

    // The framework's own onEvent function gets a role of ours: CDK's default would carry
    // AWSLambdaBasicExecutionRole (any log group).
    this.providerLogGroup = new logs.LogGroup(this, 'ProviderLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.providerRole = new iam.Role(this, 'ProviderRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Runplane auth bootstrap: custom resource provider framework',
    });
    this.providerRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [this.providerLogGroup.logGroupArn] }),
    );
    this.provider = new cr.Provider(this, 'Provider', {
      onEventHandler: fn.function,
      frameworkOnEventRole: this.providerRole,
      logGroup: this.providerLogGroup,
    });
    Validations.of(this.providerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(fn.function.node.defaultChild as CfnResource)}.Arn>:*]`,
      reason: 'Granted by cr.Provider (grantInvoke): lambda:InvokeFunction on the bootstrap function and its versions/aliases (":*"); it is the one function this role may invoke.',
    });

    const properties: BootstrapResourceProperties = {
      JobsTable: data.jobs.tableName,
      AuditTable: data.audit.tableName,
      AdminKeySecretId: this.adminKeySecret.secretArn,
      SigningKeySecretId: this.signingKeySecret.secretArn,
      JwtIssuer: DEFAULT_JWT_ISSUER,
      JwtAudience: DEFAULT_JWT_AUDIENCE,
      DeployNonce: props.deployNonce,
    };
    this.bootstrap = new CustomResource(this, 'Bootstrap', {
      serviceToken: this.provider.serviceToken,
      resourceType: 'Custom::RunplaneAuthBootstrap',
      properties,
    });
    // The handler must be able to write before CloudFormation calls it: its role's policy first.
    this.bootstrap.node.addDependency(fn.role);

    const attribute = (name: keyof BootstrapData) => this.bootstrap.getAttString(name);
    this.environment = {
      // From the key document itself, so the API verifies exactly what `runplane token` mints.
      RUNPLANE_JWT_ISSUER: attribute('JwtIssuer'),
      RUNPLANE_JWT_AUDIENCE: attribute('JwtAudience'),
      RUNPLANE_JWT_PUBLIC_KEYS: attribute('PublicJwks'),
      ...(props.maxTokenLifetimeSeconds !== undefined ? { RUNPLANE_JWT_MAX_LIFETIME_SECONDS: String(props.maxTokenLifetimeSeconds) } : {}),
      ...(props.oidc
        ? {
            RUNPLANE_OIDC_JWKS_URL: props.oidc.jwksUrl,
            RUNPLANE_OIDC_ISSUER: props.oidc.issuer,
            RUNPLANE_OIDC_AUDIENCE: props.oidc.audience,
            ...(props.oidc.groupsClaim ? { RUNPLANE_GROUPS_CLAIM: props.oidc.groupsClaim } : {}),
            ...(props.oidc.roleClaim ? { RUNPLANE_ROLE_CLAIM: props.oidc.roleClaim } : {}),
          }
        : {}),
    };
  }

  /**
   * A secret with no value: the bootstrap's `read()` must see "nothing yet" on the first deploy.
   * The L2 Secret generates a random password unless told otherwise, so its GenerateSecretString is
   * removed (CloudFormation then creates the secret empty).
   */
  private emptySecret(
    id: string,
    secretName: string,
    options: { description: string; removalPolicy: RemovalPolicy; rotation: string },
  ): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, id, {
      secretName,
      description: options.description,
      removalPolicy: options.removalPolicy,
    });
    (secret.node.defaultChild as secretsmanager.CfnSecret).addPropertyDeletionOverride('GenerateSecretString');
    Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: options.rotation });
    return secret;
  }
}
