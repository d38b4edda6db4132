import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_HSTS_SECONDS, consoleContentSecurityPolicy } from '../../core/console/security-headers.ts';
import { CONSOLE_CONFIG_FILE, SPA_FALLBACK_FUNCTION } from '../../lib/console.ts';
import { cfnText, properties, roleStatements, synthesize, type SynthesizedStack } from './support/template.ts';

// CloudFront's managed policies (documented ids).
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const CACHING_OPTIMIZED = '658327ea-f89d-4fab-a63d-7e88639e58f6';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

interface Behavior {
  PathPattern?: string;
  TargetOriginId: string;
  ViewerProtocolPolicy: string;
  CachePolicyId: unknown;
  OriginRequestPolicyId?: unknown;
  ResponseHeadersPolicyId?: unknown;
  AllowedMethods?: string[];
  FunctionAssociations?: { EventType: string; FunctionARN: unknown }[];
}

interface DistributionConfig {
  DefaultCacheBehavior: Behavior;
  CacheBehaviors: Behavior[];
  DefaultRootObject: string;
  Origins: { Id: string; DomainName: unknown; OriginAccessControlId?: unknown; S3OriginConfig?: unknown; CustomOriginConfig?: { OriginProtocolPolicy: string } }[];
}

describe('RunplaneConsole (CloudFront, private S3, the API on the same distribution)', () => {
  const dist = mkdtempSync(join(tmpdir(), 'runplane-console-dist-'));
  let s: SynthesizedStack;
  let config: DistributionConfig;

  beforeAll(() => {
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>built</title>');
    s = synthesize({
      deployNonce: 'x',
      consoleDistDir: dist,
      oidc: { jwksUrl: 'https://idp.example.com/jwks', issuer: 'https://idp.example.com/', audience: 'runplane-console' },
    });
    config = properties(s.template, s.id(s.stack.console!.distribution)).DistributionConfig as DistributionConfig;
  }, 180_000);

  afterAll(() => rmSync(dist, { recursive: true, force: true }));

  it('keeps the files in a private, TLS-only bucket that only this distribution may read', () => {
    const bucket = properties(s.template, s.id(s.stack.console!.bucket));
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    const policy = properties(s.template, s.id(s.stack.console!.bucket.policy!)).PolicyDocument as {
      Statement: { Effect: string; Principal?: { Service?: string }; Action: string | string[]; Condition?: Record<string, Record<string, unknown>> }[];
    };
    const reads = policy.Statement.filter((st) => st.Effect === 'Allow');
    expect(reads).toHaveLength(1);
    expect(reads[0]!.Principal).toEqual({ Service: 'cloudfront.amazonaws.com' });
    expect(reads[0]!.Action).toBe('s3:GetObject');
    expect(cfnText(reads[0]!.Condition!.StringEquals!['AWS:SourceArn'])).toContain(s.id(s.stack.console!.distribution));
    expect(policy.Statement.some((st) => st.Effect === 'Deny' && JSON.stringify(st.Condition) === '{"Bool":{"aws:SecureTransport":"false"}}')).toBe(true);
    const s3Origin = config.Origins.find((o) => o.S3OriginConfig !== undefined)!;
    expect(s3Origin.OriginAccessControlId).toBeDefined();
    expect(s3Origin.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
  });

  it('serves the console over HTTPS with the security headers, and client routes as index.html', () => {
    const d = config.DefaultCacheBehavior;
    expect(d.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(d.CachePolicyId).toBe(CACHING_OPTIMIZED);
    expect(config.DefaultRootObject).toBe('index.html');
    const headers = properties(s.template, cfnText(d.ResponseHeadersPolicyId).slice(2, -1)).ResponseHeadersPolicyConfig as {
      SecurityHeadersConfig: Record<string, Record<string, unknown>>;
      CustomHeadersConfig: { Items: { Header: string }[] };
    };
    const sec = headers.SecurityHeadersConfig;
    expect(sec.ContentSecurityPolicy).toEqual({ ContentSecurityPolicy: consoleContentSecurityPolicy(['https://idp.example.com']), Override: true });
    expect(sec.StrictTransportSecurity).toMatchObject({ AccessControlMaxAgeSec: CONSOLE_HSTS_SECONDS, Override: true });
    expect(sec.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(sec.ContentTypeOptions).toEqual({ Override: true });
    expect(sec.ReferrerPolicy).toEqual({ ReferrerPolicy: 'no-referrer', Override: true });
    expect(headers.CustomHeadersConfig.Items.map((h) => h.Header)).toEqual(['Permissions-Policy', 'Cross-Origin-Opener-Policy']);
    expect(d.FunctionAssociations).toEqual([{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [expect.stringMatching(/^ConsoleSpaFallback/), 'FunctionARN'] } }]);
  });

  it('rewrites client-side routes to index.html and leaves files alone', () => {
    const route = (uri: string) =>
      (runInNewContext(`${SPA_FALLBACK_FUNCTION}; handler({ request: { uri: ${JSON.stringify(uri)} } })`) as { uri: string }).uri;
    expect(route('/')).toBe('/index.html');
    expect(route('/jobs/01JABCDEFGHJKMNPQRSTVWXYZ0')).toBe('/index.html');
    expect(route('/assets/index-abc.js')).toBe('/assets/index-abc.js');
    expect(route('/console-config.json')).toBe('/console-config.json');
    expect(route('/favicon.svg')).toBe('/favicon.svg');
  });

  it('routes /v1/* to the HTTP API, uncached, with every viewer header but Host', () => {
    expect(config.CacheBehaviors).toHaveLength(1);
    const api = config.CacheBehaviors[0]!;
    expect(api).toMatchObject({
      PathPattern: '/v1/*',
      ViewerProtocolPolicy: 'https-only',
      CachePolicyId: CACHING_DISABLED,
      OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
    });
    expect(api.AllowedMethods).toEqual(expect.arrayContaining(['GET', 'POST', 'OPTIONS', 'DELETE', 'PUT', 'PATCH']));
    const origin = config.Origins.find((o) => o.Id === api.TargetOriginId)!;
    expect(cfnText(origin.DomainName)).toBe(`\${${s.id(s.stack.api.httpApi)}}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}`);
    expect(origin.CustomOriginConfig?.OriginProtocolPolicy).toBe('https-only');
  });

  it('deploys the built files and the OIDC config, invalidating the distribution', () => {
    expect(s.stack.console!.built).toBe(true);
    const deployment = s.template.findResources('Custom::CDKBucketDeployment');
    const [props] = Object.values(deployment).map((r) => r.Properties as Record<string, unknown>);
    expect(props!.DestinationBucketName).toEqual({ Ref: s.id(s.stack.console!.bucket) });
    expect(props!.DistributionId).toEqual({ Ref: s.id(s.stack.console!.distribution) });
    expect(props!.DistributionPaths).toEqual(['/*']);
    // Each source is a staged asset: the built files, and the generated console-config.json.
    const staged = (props!.SourceObjectKeys as string[]).map((key) => join(s.app.outdir, `asset.${key.replace(/\.zip$/, '')}`));
    expect(staged).toHaveLength(2);
    const [files, generated] = staged as [string, string];
    expect(readFileSync(join(files, 'index.html'), 'utf8')).toContain('<title>built</title>');
    expect(JSON.parse(readFileSync(join(generated, CONSOLE_CONFIG_FILE), 'utf8'))).toEqual({
      oidc: { issuer: 'https://idp.example.com/', clientId: 'runplane-console' },
    });
    s.template.hasOutput('ConsoleUrl', { Value: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [s.id(s.stack.console!.distribution), 'DomainName'] }]] } });
  });

  it("gives CDK's deployment handler write access to the console bucket only", () => {
    const statements = roleStatements(s.template, s.id(s.stack.console!.deploymentHandlerRole));
    const writes = statements.filter((st) => st.actions.some((a) => a.startsWith('s3:Put') || a.startsWith('s3:Delete')));
    expect(writes.length).toBeGreaterThan(0);
    for (const st of writes) {
      expect(st.resources.every((r) => r.includes(s.id(s.stack.console!.bucket))), JSON.stringify(st)).toBe(true);
    }
  });

  it('synthesizes offline without a built console, deploying a placeholder page', () => {
    const bare = synthesize({ deployNonce: 'x', consoleDistDir: join(dist, 'missing') });
    expect(bare.stack.console!.built).toBe(false);
    bare.template.resourceCountIs('Custom::CDKBucketDeployment', 1);
  }, 180_000);
});
