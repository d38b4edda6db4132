import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import {
  CONSOLE_HSTS_SECONDS,
  CONSOLE_PERMISSIONS_POLICY,
  consoleContentSecurityPolicy,
  issuerOrigins,
} from '../core/console/security-headers.ts';
import { REPO_ROOT } from './paths.ts';

/** What `/console-config.json` tells the console (see console/src/console-config.ts). */
export interface ConsoleOidc {
  readonly issuer: string;
  /** The OIDC client the console signs in as; its ID tokens' audience. */
  readonly clientId: string;
  readonly name?: string;
}

export interface RunplaneConsoleProps {
  /** The API, served on the same distribution under `/v1/*` (so no CORS is needed). */
  readonly api: apigwv2.IHttpApi;
  /** Server access logs of the console bucket go here. */
  readonly logsBucket: s3.IBucket;
  /** The built console. Default: console/dist; a placeholder page is deployed when it is missing. */
  readonly distDir?: string;
  readonly oidc?: ConsoleOidc;
  readonly removalPolicy?: RemovalPolicy;
}

export const CONSOLE_CONFIG_FILE = 'console-config.json';

/**
 * The SPA fallback, on the console's behaviour only: a path that names no file (a client-side
 * route such as /jobs/01J…) is served index.html. A distribution-wide custom error response would
 * also turn the API's JSON 404s into HTML, so it is done here instead.
 */
export const SPA_FALLBACK_FUNCTION = `function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri.startsWith('/assets/') || /\\.[A-Za-z0-9]+$/.test(uri)) return request;
  request.uri = '/index.html';
  return request;
}`;

const PLACEHOLDER_PAGE =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Runplane</title></head><body>' +
  '<main><h1>The Runplane console was not built</h1><p>Run <code>npm ci</code> (or <code>npm run build:console</code>) and deploy again. The API works without it.</p></main></body></html>';

/**
 * The web console in AWS: its static files in a private S3 bucket that only this distribution can
 * read (origin access control), served over HTTPS with the console's security headers, and the
 * HTTP API behind the same distribution at `/v1/*` (uncached, every header but Host forwarded), so
 * the console calls its own origin.
 */
export class RunplaneConsole extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly deployment: s3deploy.BucketDeployment;
  /** True when console/dist was found at synth time. */
  readonly built: boolean;
  /** The role of CDK's (per-stack) BucketDeployment handler. */
  readonly deploymentHandlerRole: iam.IRole;

  constructor(scope: Construct, id: string, props: RunplaneConsoleProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.logsBucket,
      serverAccessLogsPrefix: 'console/',
      removalPolicy,
    });

    const headers = new cloudfront.ResponseHeadersPolicy(this, 'Headers', {
      comment: 'Runplane console security headers (core/console/security-headers.ts)',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: consoleContentSecurityPolicy(issuerOrigins(props.oidc?.issuer)),
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.seconds(CONSOLE_HSTS_SECONDS),
          includeSubdomains: true,
          override: true,
        },
      },
      customHeadersBehavior: {
        customHeaders: [
          { header: 'Permissions-Policy', value: CONSOLE_PERMISSIONS_POLICY, override: true },
          { header: 'Cross-Origin-Opener-Policy', value: 'same-origin', override: true },
        ],
      },
    });

    const fallback = new cloudfront.Function(this, 'SpaFallback', {
      code: cloudfront.FunctionCode.fromInline(SPA_FALLBACK_FUNCTION),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      comment: 'Serves index.html for client-side routes of the Runplane console',
    });

    const region = Stack.of(this).region;
    const apiOrigin = new origins.HttpOrigin(`${props.api.apiId}.execute-api.${region}.${Stack.of(this).urlSuffix}`, {
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Runplane console and API',
      defaultRootObject: 'index.html',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        compress: true,
        functionAssociations: [{ function: fallback, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      },
      additionalBehaviors: {
        '/v1/*': {
          origin: apiOrigin,
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
          // Every answer depends on the caller's token: never cached, Authorization forwarded.
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          compress: true,
        },
      },
    });
    Validations.of(this.distribution).acknowledge(
      { id: 'AwsSolutions-CFR1', reason: 'The console is for a research group wherever its members are; access is by token, not by country.' },
      { id: 'AwsSolutions-CFR2', reason: 'The API behind /v1/* authenticates every request and is throttled per route; a WAF is a deployment choice left to the operator.' },
      { id: 'AwsSolutions-CFR3', reason: 'Legacy CloudFront logging needs ACLs on the log bucket, which the stack disables; the bucket and the API keep their own access logs.' },
      { id: 'AwsSolutions-CFR4', reason: 'Served on the default cloudfront.net certificate, where CloudFront fixes the TLS policy; a custom domain with its own certificate can require TLS 1.2.' },
    );

    const dist = resolve(props.distDir ?? join(REPO_ROOT, 'console', 'dist'));
    this.built = existsSync(join(dist, 'index.html'));
    const config = { ...(props.oidc ? { oidc: props.oidc } : {}) };
    this.deployment = new s3deploy.BucketDeployment(this, 'Files', {
      destinationBucket: this.bucket,
      sources: [
        this.built ? s3deploy.Source.asset(dist) : s3deploy.Source.data('index.html', PLACEHOLDER_PAGE),
        s3deploy.Source.jsonData(CONSOLE_CONFIG_FILE, config),
      ],
      // Hashed assets never change; the invalidation makes a new index.html visible at once.
      distribution: this.distribution,
      distributionPaths: ['/*'],
      prune: true,
      memoryLimit: 256,
    });
    this.deploymentHandlerRole = this.deployment.handlerRole;
    this.acknowledgeDeploymentHandler();
  }

  /**
   * BucketDeployment's handler is one function per stack (a singleton at stack level), shipped and
   * maintained by aws-cdk-lib; its grants are CDK's own, scoped to the asset and console buckets.
   */
  private acknowledgeDeploymentHandler(): void {
    const stack = Stack.of(this);
    const handler = stack.node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (!handler) return;
    Validations.of(handler).acknowledge(
      { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: "CDK's BucketDeployment handler writes its logs with the basic execution role." },
      ...['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'].map((action) => ({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: 'CDK grants the deployment handler read on the asset objects and write on the console bucket with these action groups.',
      })),
      { id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]', reason: 'The handler reads the console files from the CDK asset bucket.' },
      { id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.bucket.node.defaultChild as CfnElement)}.Arn>/*]`, reason: 'The handler replaces every file of the console bucket on deploy (prune).' },
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'CloudFront invalidations (CreateInvalidation, GetInvalidation) have no resource-level permissions in CDK\'s grant.' },
      { id: 'AwsSolutions-L1', reason: "The runtime of CDK's BucketDeployment handler is chosen by aws-cdk-lib." },
    );
  }

  /** `https://<distribution domain>`: the console, and the API under `/v1`. */
  get url(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }
}
