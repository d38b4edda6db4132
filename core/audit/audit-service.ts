import * as z from 'zod';
import type { Caller } from '../auth/caller.ts';
import { requirePermission } from '../auth/policy.ts';
import { createDocumentClient } from '../aws/dynamodb-client.ts';
import { dynamoDbClientOptions } from '../aws/client-options.ts';
import type { RuntimeConfig } from '../config.ts';
import { parseOrThrow } from '../jobs/job-service.ts';
import type { AuditLog, AuditPage } from './audit-log.ts';
import { DynamoDbAuditLog } from './dynamodb-audit-log.ts';
import type { VerifyResult } from './verify.ts';

export const listAuditQuerySchema = z.strictObject({
  after: z.string().max(4096).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  shard: z.union([z.literal('root'), z.coerce.number().int().min(0).max(255)]).optional(),
});

/**
 * The audit use cases behind `GET /v1/audit` and `GET /v1/audit/verify`: admins only (the
 * `audit:read` permission), everyone else gets 403 PERMISSION_DENIED. The chain says who did what
 * in every group, so it is never filtered per group: it is all or nothing.
 */
export class AuditService {
  constructor(private readonly log: AuditLog) {}

  async list(query: unknown, caller: Caller): Promise<AuditPage> {
    requirePermission(caller, 'audit:read');
    const q = parseOrThrow(listAuditQuerySchema, query, 'query');
    return this.log.list({ limit: q.limit, ...(q.after ? { after: q.after } : {}), ...(q.shard !== undefined ? { shard: q.shard } : {}) });
  }

  async verify(caller: Caller): Promise<VerifyResult> {
    requirePermission(caller, 'audit:read');
    return this.log.verify();
  }
}

const fromConfig = new WeakMap<RuntimeConfig, AuditService>();

/**
 * The service over a deployment's audit table, built once per configuration (so once per Lambda
 * container or local platform) and only by the routes that use it.
 */
export function auditServiceFor(config: RuntimeConfig): AuditService {
  let service = fromConfig.get(config);
  if (!service) {
    const client = createDocumentClient(dynamoDbClientOptions(config));
    service = new AuditService(new DynamoDbAuditLog({ client, tableName: config.tables.audit }));
    fromConfig.set(config, service);
  }
  return service;
}
