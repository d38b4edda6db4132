import { z } from 'zod';
import { POOL_NAME_PATTERN, QUEUE_DEFAULTS } from './resources.ts';

/**
 * Runtime configuration shared by the Lambda handlers and the worker, read from environment
 * variables once at start-up. The CDK stack and the local platform set exactly these variables;
 * a missing or malformed one fails fast with its name.
 *
 * RUNPLANE_JOBS_TABLE, RUNPLANE_EVENTS_TABLE, RUNPLANE_AUDIT_TABLE  physical table names
 * RUNPLANE_QUEUES        JSON array of RuntimeQueue: [{"pool","url","deadLetterUrl",...settings}]
 * RUNPLANE_DYNAMODB_ENDPOINT, RUNPLANE_SQS_ENDPOINT, RUNPLANE_S3_ENDPOINT  emulator endpoints (local only)
 * RUNPLANE_ARTIFACTS_BUCKET  S3 bucket for artifacts
 * AWS_REGION             region (set by Lambda and ECS)
 */
export const runtimeQueueSchema = z.object({
  pool: z.string().regex(POOL_NAME_PATTERN),
  url: z.string().min(1),
  deadLetterUrl: z.string().min(1),
  visibilityTimeoutSeconds: z.number().int().positive().default(QUEUE_DEFAULTS.visibilityTimeoutSeconds),
  maxReceiveCount: z.number().int().positive().default(QUEUE_DEFAULTS.maxReceiveCount),
  defaultMaxAttempts: z.number().int().positive().default(QUEUE_DEFAULTS.defaultMaxAttempts),
});
export type RuntimeQueue = z.output<typeof runtimeQueueSchema>;

const envSchema = z.object({
  RUNPLANE_JOBS_TABLE: z.string().min(1),
  RUNPLANE_EVENTS_TABLE: z.string().min(1),
  RUNPLANE_AUDIT_TABLE: z.string().min(1),
  RUNPLANE_QUEUES: z
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
    .pipe(z.array(runtimeQueueSchema).min(1)),
  RUNPLANE_DYNAMODB_ENDPOINT: z.string().url().optional(),
  RUNPLANE_SQS_ENDPOINT: z.string().url().optional(),
  RUNPLANE_S3_ENDPOINT: z.string().url().optional(),
  RUNPLANE_ARTIFACTS_BUCKET: z.string().optional(),
  AWS_REGION: z.string().default('us-east-1'),
});

export interface RuntimeConfig {
  readonly tables: { readonly jobs: string; readonly events: string; readonly audit: string };
  readonly queues: readonly RuntimeQueue[];
  readonly endpoints: { readonly dynamodb?: string; readonly sqs?: string; readonly s3?: string };
  readonly artifactsBucket?: string;
  readonly region: string;
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
  return {
    tables: { jobs: e.RUNPLANE_JOBS_TABLE, events: e.RUNPLANE_EVENTS_TABLE, audit: e.RUNPLANE_AUDIT_TABLE },
    queues: e.RUNPLANE_QUEUES,
    endpoints: {
      ...(e.RUNPLANE_DYNAMODB_ENDPOINT ? { dynamodb: e.RUNPLANE_DYNAMODB_ENDPOINT } : {}),
      ...(e.RUNPLANE_SQS_ENDPOINT ? { sqs: e.RUNPLANE_SQS_ENDPOINT } : {}),
      ...(e.RUNPLANE_S3_ENDPOINT ? { s3: e.RUNPLANE_S3_ENDPOINT } : {}),
    },
    ...(e.RUNPLANE_ARTIFACTS_BUCKET ? { artifactsBucket: e.RUNPLANE_ARTIFACTS_BUCKET } : {}),
    region: e.AWS_REGION,
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
    AWS_REGION: config.region,
  };
}
