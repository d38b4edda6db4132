import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { readSettings } from '../../lib/settings.ts';

const settings = (context: Record<string, unknown>) => readSettings(new App({ context }).node);

describe('deployment settings (CDK context)', () => {
  it('defaults to a protected deployment named runplane, with workers and without CORS', () => {
    expect(settings({})).toEqual({ stackName: 'runplane', corsOrigins: [], protectData: true, deployWorkers: true, containerInsights: false });
  });

  it('accepts the string forms -c key=value gives', () => {
    expect(
      settings({
        'runplane:stackName': 'rp-dev',
        'runplane:corsOrigins': 'https://console.example.com, http://localhost:5173',
        'runplane:protectData': 'false',
        'runplane:deployWorkers': 'false',
        'runplane:workerImage': '123456789012.dkr.ecr.us-east-1.amazonaws.com/runplane-worker:1.2.3',
      }),
    ).toEqual({
      stackName: 'rp-dev',
      corsOrigins: ['https://console.example.com', 'http://localhost:5173'],
      protectData: false,
      deployWorkers: false,
      containerInsights: false,
      workerImage: '123456789012.dkr.ecr.us-east-1.amazonaws.com/runplane-worker:1.2.3',
    });
  });

  it('passes a maximum token lifetime through to the API functions, within 60 s to 30 days', async () => {
    expect(settings({ 'runplane:maxTokenLifetimeSeconds': '3600' }).maxTokenLifetimeSeconds).toBe(3600);
    expect(() => settings({ 'runplane:maxTokenLifetimeSeconds': String(31 * 24 * 3600) })).toThrow(/maxTokenLifetimeSeconds/);
    const { synthesize } = await import('./support/template.ts');
    const { template } = synthesize({ deployWorkers: false, maxTokenLifetimeSeconds: 7200, deployNonce: 'fixed' }, 'lifetime');
    const fns = template.findResources('AWS::Lambda::Function');
    const withAuth = Object.values(fns).filter((f) => f.Properties?.Environment?.Variables?.RUNPLANE_JWT_ISSUER !== undefined);
    expect(withAuth.length).toBeGreaterThan(0);
    for (const fn of withAuth) expect(fn.Properties.Environment.Variables.RUNPLANE_JWT_MAX_LIFETIME_SECONDS).toBe('7200');
  }, 180_000);

  it('reads an OIDC issuer and its claim names', () => {
    expect(
      settings({
        'runplane:oidcJwksUrl': 'https://idp.example.com/jwks.json',
        'runplane:oidcIssuer': 'https://idp.example.com/',
        'runplane:oidcAudience': 'runplane',
        'runplane:groupsClaim': 'realm_access.roles',
      }).oidc,
    ).toEqual({
      jwksUrl: 'https://idp.example.com/jwks.json',
      issuer: 'https://idp.example.com/',
      audience: 'runplane',
      groupsClaim: 'realm_access.roles',
    });
    expect(settings({}).oidc).toBeUndefined();
  });

  it.each([
    ['an incomplete OIDC issuer', { 'runplane:oidcJwksUrl': 'https://idp.example.com/jwks.json' }, 'runplane:oidcIssuer'],
    [
      'a JWKS URL over plain http',
      { 'runplane:oidcJwksUrl': 'http://idp.example.com/jwks.json', 'runplane:oidcIssuer': 'i', 'runplane:oidcAudience': 'a' },
      'runplane:oidcJwksUrl',
    ],
    [
      "an OIDC issuer equal to the deployment's own",
      { 'runplane:oidcJwksUrl': 'https://idp.example.com/jwks.json', 'runplane:oidcIssuer': 'runplane', 'runplane:oidcAudience': 'a' },
      'runplane:oidcIssuer',
    ],
    ['claim names without an OIDC issuer', { 'runplane:roleClaim': 'role' }, 'runplane:roleClaim'],
    ['an origin with a path', { 'runplane:corsOrigins': 'https://console.example.com/' }, 'runplane:corsOrigins'],
    ['a non-http origin', { 'runplane:corsOrigins': 'ftp://example.com' }, 'runplane:corsOrigins'],
    ['a malformed boolean', { 'runplane:protectData': 'yes' }, 'runplane:protectData'],
    ['a stack name CloudFormation refuses', { 'runplane:stackName': '1-runplane' }, 'runplane:stackName'],
  ])('rejects %s', (_case, context, key) => {
    expect(() => settings(context)).toThrow(key);
  });
});
