import * as z from 'zod';
import { POOL_NAME_PATTERN, QUEUE_DEFAULTS } from './resources.ts';
import { DEFAULT_WORKDIR_LIMITS, type WorkdirLimits } from './workdir-limits.ts';

/**
 * Runtime configuration shared by the Lambda handlers and the worker, read from environment
 * variables once at start-up. The CDK stack and the local platform set exactly these variables;
 * a missing or malformed one fails fast with its name.
 *
 * RUNPLANE_JOBS_TABLE, RUNPLANE_EVENTS_TABLE, RUNPLANE_AUDIT_TABLE  physical table names
 * RUNPLANE_QUEUES        JSON array of RuntimeQueue: [{"pool","url","deadLetterUrl",...settings}]
 * RUNPLANE_DYNAMODB_ENDPOINT, RUNPLANE_SQS_ENDPOINT, RUNPLANE_S3_ENDPOINT  emulator endpoints (local only)
 * RUNPLANE_ARTIFACTS_BUCKET  S3 bucket for artifacts, work directory archives and log archives (`logs/`)
 * RUNPLANE_WORKDIR_MAX_BYTES, RUNPLANE_WORKDIR_MAX_FILES, RUNPLANE_WORKDIR_MAX_UNPACKED_BYTES
 *                        work directory limits (defaults in core/uploads/workdir-limits.ts)
 * RUNPLANE_EMULATOR_ACCESS_KEY_ID  access key id for the emulator endpoints (local only: DynamoDB
 *                        Local keeps one database per access key id, so this key is the way in)
 * RUNPLANE_DISPATCH_KEY  HMAC key (base64url, at least 32 bytes) with which submits sign a job's
 *                        spec and workers check it before running the job (specs/09-local-platform.md)
 * RUNPLANE_EVENT_RETENTION_DAYS  days output events stay in the events table (their TTL); none: forever
 * RUNPLANE_SCHEDULER_QUEUE_URL  the scheduler's kick queue (AWS): runnable jobs and freed capacity
 *                        send a kick there and the scheduler Lambda runs the pool's pass
 *                        (specs/11-scheduling.md); absent: the process brings its own admission
 * RUNPLANE_GROUP_USAGE_HALF_LIFE_SECONDS  half-life of the groups' decayed GPU usage that fair share
 *                        weighs (whole seconds, default 86400; core/groups/decayed-usage.ts)
 * AWS_REGION             region (set by Lambda and ECS)
 *
 * Authentication (API only; all optional, see specs/08-auth.md). API keys need no settings.
 * RUNPLANE_JWT_ISSUER, RUNPLANE_JWT_AUDIENCE  `iss`/`aud` of the deployment's own tokens
 *                        (defaults `runplane`, `runplane-api`)
 * RUNPLANE_JWT_PUBLIC_KEYS  JSON JWKS `{"keys":[...]}` (or an array) of the public ES256 keys
 *                        that verify the deployment's own tokens; none: own tokens are refused
 * RUNPLANE_OIDC_JWKS_URL, RUNPLANE_OIDC_ISSUER, RUNPLANE_OIDC_AUDIENCE  an external OIDC
 *                        identity provider (all three, or none); the URL must be https (or loopback)
 * RUNPLANE_GROUPS_CLAIM, RUNPLANE_ROLE_CLAIM  claim names (or dotted paths) read from OIDC
 *                        tokens (defaults `groups`, `role`)
 * RUNPLANE_JWT_MAX_LIFETIME_SECONDS  the longest lifetime (exp - iat) a JWT may claim; 86400 (24 h)
 *                        by default, at most 30 days
 */
export const runtimeQueueSchema = z.object({
  pool: z.string().regex(POOL_NAME_PATTERN),
  url: z.string().min(1),
  deadLetterUrl: z.string().min(1),
  visibilityTimeoutSeconds: z.number().int().positive().default(QUEUE_DEFAULTS.visibilityTimeoutSeconds),
  maxReceiveCount: z.number().int().positive().default(QUEUE_DEFAULTS.maxReceiveCount),
  defaultMaxAttempts: z.number().int().positive().default(QUEUE_DEFAULTS.defaultMaxAttempts),
  /**
   * GPUs of the pool's instance type (AWS): a job asking for more is refused at submit. Absent
   * (local pools): any count is accepted and waits for a worker that has it.
   */
  gpusPerInstance: z.number().int().min(0).optional(),
});
export type RuntimeQueue = z.output<typeof runtimeQueueSchema>;

/** A public signing key (EC P-256 or RSA) as a JWK with a `kid`; private members are refused. */
const publicJwkSchema = z
  .looseObject({ kty: z.enum(['EC', 'RSA']), kid: z.string().min(1).max(256) })
  .refine((k) => !('d' in k), 'must be a public key (no "d")');

function isSafeJwksUrl(raw: string): boolean {
  const url = new URL(raw);
  return url.protocol === 'https:' || (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname));
}

/** An environment variable holding a non-empty JSON array of `item`. */
export function jsonArrayVariable<T extends z.ZodType>(item: T) {
  return z
    .string()
    .min(1)
    .transform((raw, ctx) => {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON array' });
        return z.NEVER;
      }
    })
    .pipe(z.array(item).min(1));
}

const envSchema = z.object({
  RUNPLANE_JOBS_TABLE: z.string().min(1),
  RUNPLANE_EVENTS_TABLE: z.string().min(1),
  RUNPLANE_AUDIT_TABLE: z.string().min(1),
  RUNPLANE_QUEUES: jsonArrayVariable(runtimeQueueSchema),
  RUNPLANE_DYNAMODB_ENDPOINT: z.string().url().optional(),
  RUNPLANE_SQS_ENDPOINT: z.string().url().optional(),
  RUNPLANE_S3_ENDPOINT: z.string().url().optional(),
  RUNPLANE_ARTIFACTS_BUCKET: z.string().optional(),
  RUNPLANE_WORKDIR_MAX_BYTES: z.coerce.number().int().positive().default(DEFAULT_WORKDIR_LIMITS.maxArchiveBytes),
  RUNPLANE_WORKDIR_MAX_FILES: z.coerce.number().int().positive().default(DEFAULT_WORKDIR_LIMITS.maxFiles),
  RUNPLANE_WORKDIR_MAX_UNPACKED_BYTES: z.coerce.number().int().positive().default(DEFAULT_WORKDIR_LIMITS.maxUnpackedBytes),
  RUNPLANE_EMULATOR_ACCESS_KEY_ID: z.string().regex(/^[A-Za-z0-9]{1,128}$/).optional(),
  RUNPLANE_DISPATCH_KEY: z.string().regex(/^[A-Za-z0-9_-]{43,}$/, 'must be base64url, at least 32 bytes').optional(),
  RUNPLANE_EVENT_RETENTION_DAYS: z.coerce.number().positive().max(36_500).optional(),
  RUNPLANE_GROUP_USAGE_HALF_LIFE_SECONDS: z.coerce.number().int().min(60).max(366 * 24 * 3600).optional(),
  RUNPLANE_SCHEDULER_QUEUE_URL: z.string().min(1).optional(),
  AWS_REGION: z.string().default('us-east-1'),
  RUNPLANE_JWT_ISSUER: z.string().min(1).max(512).default('runplane'),
  RUNPLANE_JWT_AUDIENCE: z.string().min(1).max(512).default('runplane-api'),
  RUNPLANE_JWT_PUBLIC_KEYS: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return [];
      try {
        const parsed = JSON.parse(raw) as unknown;
        const keys = Array.isArray(parsed) ? parsed : (parsed as { keys?: unknown } | null)?.keys;
        if (!Array.isArray(keys)) throw new Error('no keys');
        return keys as unknown[];
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JWKS {"keys":[...]} or an array of JWKs' });
        return z.NEVER;
      }
    })
    .pipe(z.array(publicJwkSchema)),
  RUNPLANE_OIDC_JWKS_URL: z
    .string()
    .url()
    .refine(isSafeJwksUrl, 'must be an https URL (http only for loopback)')
    .optional(),
  RUNPLANE_OIDC_ISSUER: z.string().min(1).optional(),
  RUNPLANE_OIDC_AUDIENCE: z.string().min(1).optional(),
  RUNPLANE_GROUPS_CLAIM: z.string().min(1).max(256).default('groups'),
  RUNPLANE_ROLE_CLAIM: z.string().min(1).max(256).default('role'),
  RUNPLANE_JWT_MAX_LIFETIME_SECONDS: z.coerce.number().int().min(60).max(30 * 24 * 3600).default(24 * 3600),
});

export interface OidcConfig {
  readonly jwksUrl: string;
  readonly issuer: string;
  readonly audience: string;
}

export interface AuthConfig {
  /** The deployment's own ES256 tokens (`runplane token`). */
  readonly jwt: {
    readonly issuer: string;
    readonly audience: string;
    readonly publicKeys: readonly Record<string, unknown>[];
  };
  readonly oidc?: OidcConfig;
  readonly claims: { readonly groups: string; readonly role: string };
  /** Longest JWT lifetime accepted, seconds (24 h when absent). */
  readonly maxTokenLifetimeSeconds?: number;
}

export interface RuntimeConfig {
  readonly tables: { readonly jobs: string; readonly events: string; readonly audit: string };
  readonly queues: readonly RuntimeQueue[];
  readonly endpoints: { readonly dynamodb?: string; readonly sqs?: string; readonly s3?: string };
  readonly artifactsBucket?: string;
  /** Absent: DEFAULT_WORKDIR_LIMITS. */
  readonly workdirLimits?: WorkdirLimits;
  /** Credentials for the emulator endpoints; the fixed emulator ones when absent. */
  readonly emulatorCredentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Signs job specs at submit and verifies them before a worker runs one (core/jobs/dispatch-signature.ts). */
  readonly dispatchKey?: string;
  /** Days events stay in the events table before DynamoDB's TTL removes them (the log archive keeps them). */
  readonly eventRetentionDays?: number;
  /** Half-life of the groups' decayed GPU usage (seconds); absent: DEFAULT_USAGE_HALF_LIFE_SECONDS. */
  readonly groupUsageHalfLifeSeconds?: number;
  /**
   * Where runnable jobs and freed capacity ask for a scheduling pass (AWS: the scheduler Lambda's
   * kick queue). Absent: the process is given its admission (the local platform's in-process
   * scheduler) or, with none, admits directly.
   */
  readonly schedulerQueueUrl?: string;
  readonly region: string;
  /** Absent: API keys only, with the default issuer and audience for own tokens (and no keys to verify them). */
  readonly auth?: AuthConfig;
}

/** DynamoDB Local tells databases apart by access key id only and ignores the secret. */
export function emulatorCredentials(accessKeyId: string) {
  return { accessKeyId, secretAccessKey: 'local' };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function loadRuntimeConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid Runplane configuration: ${problems}`);
  }
  const e = parsed.data;
  const oidcVars = [e.RUNPLANE_OIDC_JWKS_URL, e.RUNPLANE_OIDC_ISSUER, e.RUNPLANE_OIDC_AUDIENCE];
  if (oidcVars.some((v) => v !== undefined) && !oidcVars.every((v) => v !== undefined)) {
    throw new ConfigError(
      'invalid Runplane configuration: RUNPLANE_OIDC_JWKS_URL, RUNPLANE_OIDC_ISSUER and RUNPLANE_OIDC_AUDIENCE go together',
    );
  }
  if (e.RUNPLANE_OIDC_ISSUER !== undefined && e.RUNPLANE_OIDC_ISSUER === e.RUNPLANE_JWT_ISSUER) {
    throw new ConfigError('invalid Runplane configuration: RUNPLANE_OIDC_ISSUER must differ from RUNPLANE_JWT_ISSUER');
  }
  return {
    tables: { jobs: e.RUNPLANE_JOBS_TABLE, events: e.RUNPLANE_EVENTS_TABLE, audit: e.RUNPLANE_AUDIT_TABLE },
    queues: e.RUNPLANE_QUEUES,
    endpoints: {
      ...(e.RUNPLANE_DYNAMODB_ENDPOINT ? { dynamodb: e.RUNPLANE_DYNAMODB_ENDPOINT } : {}),
      ...(e.RUNPLANE_SQS_ENDPOINT ? { sqs: e.RUNPLANE_SQS_ENDPOINT } : {}),
      ...(e.RUNPLANE_S3_ENDPOINT ? { s3: e.RUNPLANE_S3_ENDPOINT } : {}),
    },
    ...(e.RUNPLANE_ARTIFACTS_BUCKET ? { artifactsBucket: e.RUNPLANE_ARTIFACTS_BUCKET } : {}),
    workdirLimits: {
      maxArchiveBytes: e.RUNPLANE_WORKDIR_MAX_BYTES,
      maxFiles: e.RUNPLANE_WORKDIR_MAX_FILES,
      maxUnpackedBytes: e.RUNPLANE_WORKDIR_MAX_UNPACKED_BYTES,
    },
    ...(e.RUNPLANE_EMULATOR_ACCESS_KEY_ID ? { emulatorCredentials: emulatorCredentials(e.RUNPLANE_EMULATOR_ACCESS_KEY_ID) } : {}),
    ...(e.RUNPLANE_DISPATCH_KEY ? { dispatchKey: e.RUNPLANE_DISPATCH_KEY } : {}),
    ...(e.RUNPLANE_EVENT_RETENTION_DAYS !== undefined ? { eventRetentionDays: e.RUNPLANE_EVENT_RETENTION_DAYS } : {}),
    ...(e.RUNPLANE_GROUP_USAGE_HALF_LIFE_SECONDS !== undefined
      ? { groupUsageHalfLifeSeconds: e.RUNPLANE_GROUP_USAGE_HALF_LIFE_SECONDS }
      : {}),
    ...(e.RUNPLANE_SCHEDULER_QUEUE_URL ? { schedulerQueueUrl: e.RUNPLANE_SCHEDULER_QUEUE_URL } : {}),
    region: e.AWS_REGION,
    auth: {
      jwt: { issuer: e.RUNPLANE_JWT_ISSUER, audience: e.RUNPLANE_JWT_AUDIENCE, publicKeys: e.RUNPLANE_JWT_PUBLIC_KEYS },
      ...(e.RUNPLANE_OIDC_JWKS_URL && e.RUNPLANE_OIDC_ISSUER && e.RUNPLANE_OIDC_AUDIENCE
        ? { oidc: { jwksUrl: e.RUNPLANE_OIDC_JWKS_URL, issuer: e.RUNPLANE_OIDC_ISSUER, audience: e.RUNPLANE_OIDC_AUDIENCE } }
        : {}),
      claims: { groups: e.RUNPLANE_GROUPS_CLAIM, role: e.RUNPLANE_ROLE_CLAIM },
      maxTokenLifetimeSeconds: e.RUNPLANE_JWT_MAX_LIFETIME_SECONDS,
    },
  };
}

/** The inverse of loadRuntimeConfig: the environment a process needs to join this deployment. */
export function runtimeConfigToEnv(config: RuntimeConfig): Record<string, string> {
  return {
    RUNPLANE_JOBS_TABLE: config.tables.jobs,
    RUNPLANE_EVENTS_TABLE: config.tables.events,
    RUNPLANE_AUDIT_TABLE: config.tables.audit,
    RUNPLANE_QUEUES: JSON.stringify(config.queues),
    ...(config.endpoints.dynamodb ? { RUNPLANE_DYNAMODB_ENDPOINT: config.endpoints.dynamodb } : {}),
    ...(config.endpoints.sqs ? { RUNPLANE_SQS_ENDPOINT: config.endpoints.sqs } : {}),
    ...(config.endpoints.s3 ? { RUNPLANE_S3_ENDPOINT: config.endpoints.s3 } : {}),
    ...(config.artifactsBucket ? { RUNPLANE_ARTIFACTS_BUCKET: config.artifactsBucket } : {}),
    ...(config.workdirLimits
      ? {
          RUNPLANE_WORKDIR_MAX_BYTES: String(config.workdirLimits.maxArchiveBytes),
          RUNPLANE_WORKDIR_MAX_FILES: String(config.workdirLimits.maxFiles),
          RUNPLANE_WORKDIR_MAX_UNPACKED_BYTES: String(config.workdirLimits.maxUnpackedBytes),
        }
      : {}),
    ...(config.emulatorCredentials ? { RUNPLANE_EMULATOR_ACCESS_KEY_ID: config.emulatorCredentials.accessKeyId } : {}),
    ...(config.dispatchKey ? { RUNPLANE_DISPATCH_KEY: config.dispatchKey } : {}),
    ...(config.eventRetentionDays !== undefined ? { RUNPLANE_EVENT_RETENTION_DAYS: String(config.eventRetentionDays) } : {}),
    ...(config.groupUsageHalfLifeSeconds !== undefined
      ? { RUNPLANE_GROUP_USAGE_HALF_LIFE_SECONDS: String(config.groupUsageHalfLifeSeconds) }
      : {}),
    ...(config.schedulerQueueUrl ? { RUNPLANE_SCHEDULER_QUEUE_URL: config.schedulerQueueUrl } : {}),
    AWS_REGION: config.region,
    ...(config.auth ? authToEnv(config.auth) : {}),
  };
}

function authToEnv(auth: AuthConfig): Record<string, string> {
  return {
    RUNPLANE_JWT_ISSUER: auth.jwt.issuer,
    RUNPLANE_JWT_AUDIENCE: auth.jwt.audience,
    ...(auth.jwt.publicKeys.length > 0 ? { RUNPLANE_JWT_PUBLIC_KEYS: JSON.stringify({ keys: auth.jwt.publicKeys }) } : {}),
    ...(auth.oidc
      ? {
          RUNPLANE_OIDC_JWKS_URL: auth.oidc.jwksUrl,
          RUNPLANE_OIDC_ISSUER: auth.oidc.issuer,
          RUNPLANE_OIDC_AUDIENCE: auth.oidc.audience,
        }
      : {}),
    RUNPLANE_GROUPS_CLAIM: auth.claims.groups,
    RUNPLANE_ROLE_CLAIM: auth.claims.role,
    ...(auth.maxTokenLifetimeSeconds !== undefined ? { RUNPLANE_JWT_MAX_LIFETIME_SECONDS: String(auth.maxTokenLifetimeSeconds) } : {}),
  };
}
