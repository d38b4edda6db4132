import * as z from 'zod';
import { POOL_NAME_PATTERN } from '../resources.ts';
import { ConfigError, jsonArrayVariable, runtimeQueueSchema } from '../config.ts';

/**
 * What the scaler needs to know about each pool, read from the environment once at start-up. The
 * CDK stack sets these on the scale-workers Lambda (the only scaler: submit does not scale):
 *
 * RUNPLANE_QUEUES   the same JSON array the handlers read (core/config.ts): the pool's queue URL
 * RUNPLANE_SCALING  JSON array of {"pool","cluster","service","minTasks","maxTasks","maxJobsPerTask","gpusPerTask"}
 * RUNPLANE_JOBS_TABLE  the jobs table: each pool's pending jobs (the `pending` GSI) are demand, and
 *                   each decision is posted there (`SCALING#<pool>`); absent: the backlog alone
 * RUNPLANE_DYNAMODB_ENDPOINT, RUNPLANE_SQS_ENDPOINT  emulator endpoints (tests)
 */
export const scalingPoolSchema = z.strictObject({
  pool: z.string().regex(POOL_NAME_PATTERN),
  cluster: z.string().min(1),
  service: z.string().min(1),
  minTasks: z.number().int().min(0),
  maxTasks: z.number().int().min(0),
  maxJobsPerTask: z.number().int().min(1),
  /** GPUs of the pool's instance type, all of them its one task's; 0 for a CPU pool. */
  gpusPerTask: z.number().int().min(0).default(0),
});
export type ScalingPool = z.output<typeof scalingPoolSchema>;

export interface ScalingTarget extends ScalingPool {
  readonly queueUrl: string;
}

const envSchema = z.object({
  RUNPLANE_QUEUES: jsonArrayVariable(runtimeQueueSchema),
  RUNPLANE_SCALING: jsonArrayVariable(scalingPoolSchema),
  RUNPLANE_SQS_ENDPOINT: z.string().url().optional(),
  RUNPLANE_JOBS_TABLE: z.string().min(1).optional(),
  RUNPLANE_DYNAMODB_ENDPOINT: z.string().url().optional(),
  AWS_REGION: z.string().default('us-east-1'),
});

/** The scaler's whole configuration, validated: where its clients go and what each pool scales. */
export interface ScalingConfig {
  readonly region: string;
  readonly sqsEndpoint?: string;
  readonly jobsTable?: string;
  readonly dynamodbEndpoint?: string;
  readonly targets: readonly ScalingTarget[];
}

/** The scaler's configuration from its environment (the scale-workers Lambda's cold start). */
export function loadScalingConfig(env: NodeJS.ProcessEnv = process.env): ScalingConfig {
  const parsed = parseScalingEnv(env);
  return {
    region: parsed.AWS_REGION,
    ...(parsed.RUNPLANE_SQS_ENDPOINT ? { sqsEndpoint: parsed.RUNPLANE_SQS_ENDPOINT } : {}),
    ...(parsed.RUNPLANE_JOBS_TABLE ? { jobsTable: parsed.RUNPLANE_JOBS_TABLE } : {}),
    ...(parsed.RUNPLANE_DYNAMODB_ENDPOINT ? { dynamodbEndpoint: parsed.RUNPLANE_DYNAMODB_ENDPOINT } : {}),
    targets: joinTargets(parsed),
  };
}

function parseScalingEnv(env: NodeJS.ProcessEnv) {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid Runplane scaling configuration: ${problems}`);
  }
  return parsed.data;
}

/** Joins each scaling entry with its queue. Fails fast on a pool without a queue. */
export function loadScalingTargets(env: NodeJS.ProcessEnv = process.env): ScalingTarget[] {
  return joinTargets(parseScalingEnv(env));
}

function joinTargets(parsed: z.output<typeof envSchema>): ScalingTarget[] {
  return parsed.RUNPLANE_SCALING.map((entry) => {
    const queue = parsed.RUNPLANE_QUEUES.find((q) => q.pool === entry.pool);
    if (!queue) throw new ConfigError(`invalid Runplane scaling configuration: RUNPLANE_SCALING pool "${entry.pool}" has no queue in RUNPLANE_QUEUES`);
    return { ...entry, queueUrl: queue.url };
  });
}
