import * as z from 'zod';
import type { Caller } from '../auth/caller.ts';
import { requirePermission } from '../auth/policy.ts';
import { parseOrThrow } from '../validation.ts';
import type { AuditLog, AuditPage } from './audit-log.ts';
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
