import type { Node } from 'constructs';
import * as z from 'zod';

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

export const settingsSchema = z.object({
  'runplane:stackName': z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,39}$/).default('runplane'),
  'runplane:corsOrigins': origins.default([]),
  'runplane:protectData': bool.default(true),
  'runplane:deployWorkers': bool.default(true),
  'runplane:containerInsights': bool.default(false),
  'runplane:workerImage': z.string().min(1).optional(),
});

export interface AppSettings {
  readonly stackName: string;
  readonly corsOrigins: readonly string[];
  readonly protectData: boolean;
  readonly deployWorkers: boolean;
  readonly containerInsights: boolean;
  readonly workerImage?: string;
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
  return {
    stackName: s['runplane:stackName'],
    corsOrigins: s['runplane:corsOrigins'],
    protectData: s['runplane:protectData'],
    deployWorkers: s['runplane:deployWorkers'],
    containerInsights: s['runplane:containerInsights'],
    ...(s['runplane:workerImage'] ? { workerImage: s['runplane:workerImage'] } : {}),
  };
}
