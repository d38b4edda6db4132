import type { Node } from 'constructs';
import * as z from 'zod';
import { DEFAULT_JWT_ISSUER } from '../core/auth/signing-key.ts';
import { DEFAULT_EVENT_RETENTION_DAYS } from '../core/resources.ts';

/**
 * Deployment settings, from CDK context (`cdk.json` or `-c key=value`). Values given on the command
 * line arrive as strings, so booleans and lists accept their string forms too.
 *
 *   runplane:stackName          stack name, also the table/queue name prefix (default "runplane")
 *   runplane:corsOrigins        comma-separated console origins allowed by CORS (default: none)
 *   runplane:protectData        deletion protection + RETAIN on tables and buckets (default true)
 *   runplane:deployWorkers      ECS worker pools and their scaler (default true; false for LocalStack)
 *   runplane:containerInsights  ECS Container Insights (default false)
 *   runplane:workerImage        a pushed worker image to use instead of building worker-image/
 *   runplane:oidcJwksUrl        an external OIDC identity provider: its JWKS URL (https), issuer
 *   runplane:oidcIssuer           and audience, all three or none (RUNPLANE_OIDC_* of core/config.ts)
 *   runplane:oidcAudience
 *   runplane:groupsClaim        claim (or dotted path) holding an OIDC token's groups (default "groups")
 *   runplane:roleClaim          claim (or dotted path) holding its Runplane role (default "role")
 *   runplane:eventRetentionDays days job events stay in DynamoDB (their TTL; default 30); the log
 *                               archive in S3 serves them after that
 *   runplane:logArchiveTransitionDays  days before log archives move to S3 Standard-IA (default 30, at least 30)
 *   runplane:logArchiveExpirationDays  days before log archives are deleted (default 365)
 *   runplane:instancePrices     USD per instance-hour by EC2 instance type, as JSON or an object
 *                               ({"g5.xlarge": 0.52}): overrides core/usage/instance-prices.ts's table
 *                               for usage costs
 *   runplane:maxTokenLifetimeSeconds  longest lifetime (exp - iat) of a JWT the API accepts
 *                               (default 86400, 24 h; at most 30 days)
 */
const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const origins = z
  .union([
    z.array(z.string()),
    z.string().transform((s) =>
      s
        .split(',')
        .map((o) => o.trim())
        .filter((o) => o !== ''),
    ),
  ])
  .pipe(z.array(z.url({ protocol: /^https?$/ }).refine((o) => !o.endsWith('/'), 'must be an origin, without a trailing "/"')));

const claim = z.string().min(1).max(256);
const days = z.coerce.number().int().positive().max(36_500);

export const settingsSchema = z.object({
  'runplane:stackName': z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,39}$/).default('runplane'),
  'runplane:corsOrigins': origins.default([]),
  'runplane:protectData': bool.default(true),
  'runplane:deployWorkers': bool.default(true),
  'runplane:containerInsights': bool.default(false),
  'runplane:workerImage': z.string().min(1).optional(),
  // Checked here as core/config.ts checks it at cold start, so a bad value fails the synth, not the API.
  'runplane:oidcJwksUrl': z.url({ protocol: /^https$/ }).optional(),
  'runplane:oidcIssuer': z.string().min(1).max(512).optional(),
  'runplane:oidcAudience': z.string().min(1).max(512).optional(),
  'runplane:groupsClaim': claim.optional(),
  'runplane:roleClaim': claim.optional(),
  'runplane:eventRetentionDays': days.default(DEFAULT_EVENT_RETENTION_DAYS),
  // S3 refuses a transition to Standard-IA before 30 days.
  'runplane:logArchiveTransitionDays': days.min(30).default(30),
  'runplane:logArchiveExpirationDays': days.default(365),
  'runplane:maxTokenLifetimeSeconds': z.coerce.number().int().min(60).max(30 * 24 * 3600).optional(),
  'runplane:instancePrices': z
    .union([z.record(z.string(), z.unknown()), z.string().transform((s, ctx) => parseJsonObject(s, ctx))])
    .pipe(z.record(z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'must be an instance type like g5.xlarge'), z.number().min(0).max(10_000)))
    .optional(),
});

function parseJsonObject(s: string, ctx: z.RefinementCtx): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(s);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  ctx.addIssue({ code: 'custom', message: 'must be a JSON object of instance type → USD per hour' });
  return z.NEVER;
}

/** How long output is kept: events in DynamoDB, then the log archive in S3. */
export interface LogRetentionSettings {
  readonly eventRetentionDays: number;
  readonly archiveTransitionDays: number;
  readonly archiveExpirationDays: number;
}

export interface OidcSettings {
  readonly jwksUrl: string;
  readonly issuer: string;
  readonly audience: string;
  /** Claim names (or dotted paths); absent: core/config.ts's defaults, `groups` and `role`. */
  readonly groupsClaim?: string;
  readonly roleClaim?: string;
}

export interface AppSettings {
  readonly stackName: string;
  readonly corsOrigins: readonly string[];
  readonly protectData: boolean;
  readonly deployWorkers: boolean;
  readonly containerInsights: boolean;
  readonly workerImage?: string;
  /** An external OIDC issuer whose tokens the API accepts besides API keys and its own tokens. */
  readonly oidc?: OidcSettings;
  readonly logRetention: LogRetentionSettings;
  /** Longest JWT lifetime the API accepts; absent: core/config.ts's default (24 h). */
  readonly maxTokenLifetimeSeconds?: number;
  /** USD per instance-hour by instance type, over core/usage/instance-prices.ts's table. */
  readonly instancePrices?: Readonly<Record<string, number>>;
}

export function readSettings(node: Node): AppSettings {
  const raw = Object.fromEntries(
    Object.keys(settingsSchema.shape)
      .map((key) => [key, node.tryGetContext(key) as unknown] as const)
      .filter(([, value]) => value !== undefined),
  );
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid Runplane deployment settings: ${problems}`);
  }
  const s = parsed.data;
  const oidcKeys = ['runplane:oidcJwksUrl', 'runplane:oidcIssuer', 'runplane:oidcAudience'] as const;
  const given = oidcKeys.filter((k) => s[k] !== undefined);
  if (given.length > 0 && given.length < oidcKeys.length) {
    throw new Error(`invalid Runplane deployment settings: ${oidcKeys.join(', ')} go together (missing ${oidcKeys.filter((k) => s[k] === undefined).join(', ')})`);
  }
  if (given.length === 0 && (s['runplane:groupsClaim'] !== undefined || s['runplane:roleClaim'] !== undefined)) {
    throw new Error('invalid Runplane deployment settings: runplane:groupsClaim and runplane:roleClaim only apply to OIDC tokens; set runplane:oidcJwksUrl, runplane:oidcIssuer and runplane:oidcAudience');
  }
  if (s['runplane:logArchiveExpirationDays'] <= s['runplane:logArchiveTransitionDays']) {
    throw new Error('invalid Runplane deployment settings: runplane:logArchiveExpirationDays must be after runplane:logArchiveTransitionDays');
  }
  if (s['runplane:logArchiveExpirationDays'] < s['runplane:eventRetentionDays']) {
    throw new Error('invalid Runplane deployment settings: runplane:logArchiveExpirationDays must not be before runplane:eventRetentionDays (logs would vanish while their events exist)');
  }
  if (s['runplane:oidcIssuer'] === DEFAULT_JWT_ISSUER) {
    throw new Error(`invalid Runplane deployment settings: runplane:oidcIssuer must differ from the deployment's own issuer "${DEFAULT_JWT_ISSUER}"`);
  }
  return {
    stackName: s['runplane:stackName'],
    corsOrigins: s['runplane:corsOrigins'],
    protectData: s['runplane:protectData'],
    deployWorkers: s['runplane:deployWorkers'],
    containerInsights: s['runplane:containerInsights'],
    logRetention: {
      eventRetentionDays: s['runplane:eventRetentionDays'],
      archiveTransitionDays: s['runplane:logArchiveTransitionDays'],
      archiveExpirationDays: s['runplane:logArchiveExpirationDays'],
    },
    ...(s['runplane:workerImage'] ? { workerImage: s['runplane:workerImage'] } : {}),
    ...(s['runplane:maxTokenLifetimeSeconds'] !== undefined ? { maxTokenLifetimeSeconds: s['runplane:maxTokenLifetimeSeconds'] } : {}),
    ...(s['runplane:instancePrices'] ? { instancePrices: s['runplane:instancePrices'] } : {}),
    ...(s['runplane:oidcJwksUrl'] && s['runplane:oidcIssuer'] && s['runplane:oidcAudience']
      ? {
          oidc: {
            jwksUrl: s['runplane:oidcJwksUrl'],
            issuer: s['runplane:oidcIssuer'],
            audience: s['runplane:oidcAudience'],
            ...(s['runplane:groupsClaim'] ? { groupsClaim: s['runplane:groupsClaim'] } : {}),
            ...(s['runplane:roleClaim'] ? { roleClaim: s['runplane:roleClaim'] } : {}),
          },
        }
      : {}),
  };
}
