import * as z from 'zod';
import { systemClock, type Clock } from '../ids.ts';
import { parseOrThrow } from '../validation.ts';
import { apiKeyMatches, generateApiKey, newApiKeyId, parseApiKey } from './api-key.ts';
import type { ApiKeyRecord, ApiKeyStore, ApiKeySummary, TransactionAction } from './api-key-store.ts';
import { ROLES, type Caller } from './caller.ts';
import { ApiKeyNotFoundError, UnauthenticatedError } from './errors.ts';
import { groupNameSchema } from './groups.ts';
import { requirePermission } from './policy.ts';
import { CONTROL_CHARS, wellFormedString } from '../text-rules.ts';


export const DEFAULT_API_KEY_TTL_SECONDS = 90 * 24 * 3600;
export const MAX_API_KEY_TTL_SECONDS = 2 * 366 * 24 * 3600;

/** The body of `POST /v1/api-keys`. */
export const createApiKeySchema = z.strictObject({
  name: wellFormedString()
    .min(1)
    .max(128)
    .refine((s) => !CONTROL_CHARS.test(s), 'must not contain control characters'),
  role: z.enum(ROLES),
  groups: z
    .array(groupNameSchema)
    .min(1, 'a key needs at least one group')
    .max(50)
    .refine((g) => new Set(g).size === g.length, 'must not repeat a group'),
  ttlSeconds: z.number().int().min(60).max(MAX_API_KEY_TTL_SECONDS).default(DEFAULT_API_KEY_TTL_SECONDS),
});
export type CreateApiKeyInput = z.input<typeof createApiKeySchema>;

export const listApiKeysQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(64).optional(),
});

/** What creation returns: the summary plus the key itself, which is never shown again. */
export interface CreatedApiKey extends ApiKeySummary {
  readonly key: string;
}

/** What a key write records in the audit chain. */
export interface KeyAuditRecord {
  readonly actor: string;
  readonly action: 'apikey.create' | 'apikey.revoke';
  readonly target: string;
  readonly details: Record<string, unknown>;
}

/**
 * The audit seam: runs `write` with the transaction actions that append `record` to the audit
 * chain, so the key change and its entry commit together; rebuilds and retries them when the
 * chain's head moved (ExtraActionConflictError). DynamoDbAuditLog.runWithEntry is the real one
 * (wired in core/app/api-dependencies.ts); without it, `write([])` runs the change alone.
 */
export type AuditedWrite = <T>(
  record: KeyAuditRecord,
  write: (extraActions: readonly TransactionAction[]) => Promise<T>,
) => Promise<T>;

export const unaudited: AuditedWrite = (_record, write) => write([]);

export interface ApiKeyServiceDependencies {
  readonly store: ApiKeyStore;
  readonly clock?: Clock;
  readonly newId?: () => string;
  readonly audited?: AuditedWrite;
  /**
   * How long a key record read for authentication is reused by this process (0: read every
   * request). Bounded staleness: a revocation reaches every container within this time, as with
   * API Gateway's authorizer cache; expiry and the secret's hash are still checked every request.
   */
  readonly recordCacheSeconds?: number;
  /**
   * How long "no such key" is remembered (default: the record window, at most 5 s). Without it an
   * unauthenticated caller makes every request cost a read just by inventing key ids. Short,
   * because a key created in another container must start working promptly — though a new key's
   * id is random, so nobody can have asked for it before it existed.
   */
  readonly missCacheSeconds?: number;
}

/** Records kept at most; past this the oldest is dropped. */
const RECORD_CACHE_LIMIT = 1_000;

export interface ApiKeyCaller extends Caller {
  readonly keyId: string;
}

/**
 * API key use cases: admins create, list and revoke; every request's key is verified here.
 * Secrets exist only in the return value of `create` and in the caller's Authorization header.
 */
export class ApiKeyService {
  private readonly store: ApiKeyStore;
  private readonly clock: Clock;
  private readonly newId: () => string;
  private readonly audited: AuditedWrite;
  private readonly recordCacheMs: number;
  private readonly missCacheMs: number;
  private readonly records = new Map<string, { record: Awaited<ReturnType<ApiKeyStore['get']>>; readAt: number }>();

  constructor(deps: ApiKeyServiceDependencies) {
    this.store = deps.store;
    this.clock = deps.clock ?? systemClock;
    this.newId = deps.newId ?? newApiKeyId;
    this.audited = deps.audited ?? unaudited;
    this.recordCacheMs = (deps.recordCacheSeconds ?? 0) * 1000;
    this.missCacheMs = (deps.missCacheSeconds ?? Math.min(deps.recordCacheSeconds ?? 0, 5)) * 1000;
  }

  /** The key's record, from this process's short-lived cache when allowed (misses for a shorter time). */
  private async record(id: string) {
    const now = this.clock().getTime();
    const cached = this.records.get(id);
    if (cached && now - cached.readAt < (cached.record ? this.recordCacheMs : this.missCacheMs)) return cached.record;
    const record = await this.store.get(id);
    if (record ? this.recordCacheMs > 0 : this.missCacheMs > 0) {
      this.records.delete(id);
      this.records.set(id, { record, readAt: now });
      if (this.records.size > RECORD_CACHE_LIMIT) this.records.delete(this.records.keys().next().value!);
    }
    return record;
  }

  async create(body: unknown, caller: Caller): Promise<CreatedApiKey> {
    requirePermission(caller, 'apikey:manage');
    const input = parseOrThrow(createApiKeySchema, body, 'API key');
    const now = this.clock();
    const generated = generateApiKey(this.newId());
    const record: ApiKeyRecord = {
      id: generated.id,
      name: input.name,
      hash: generated.hash,
      role: input.role,
      groups: input.groups,
      createdBy: caller.subject,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + input.ttlSeconds * 1000).toISOString(),
      revokedAt: null,
      revokedBy: null,
    };
    await this.audited(
      {
        actor: caller.subject,
        action: 'apikey.create',
        target: `apikey:${record.id}`,
        details: { name: record.name, role: record.role, groups: [...record.groups], expiresAt: record.expiresAt },
      },
      (extraActions) => this.store.create(record, { extraActions }),
    );
    const { hash: _hash, ...summary } = record;
    return { ...summary, key: generated.token };
  }

  async list(query: unknown, caller: Caller) {
    requirePermission(caller, 'apikey:manage');
    const q = parseOrThrow(listApiKeysQuerySchema, query, 'query');
    return this.store.list(q.limit, q.cursor);
  }

  async revoke(id: string, caller: Caller): Promise<ApiKeySummary> {
    requirePermission(caller, 'apikey:manage');
    // Whatever happens next, this process stops trusting its cached copy at once.
    this.records.delete(id);
    const existing = await this.store.get(id);
    if (!existing) throw new ApiKeyNotFoundError(id);
    if (existing.revokedAt) {
      const { hash: _hash, ...summary } = existing;
      return summary;
    }
    const now = this.clock();
    return this.audited({ actor: caller.subject, action: 'apikey.revoke', target: `apikey:${id}`, details: { name: existing.name } }, (extraActions) =>
      this.store.revoke(id, caller.subject, now, { extraActions }),
    );
  }

  /**
   * The caller a presented key stands for. Unknown, malformed, revoked and expired keys all fail
   * the same way (UnauthenticatedError); the reason is for the log only.
   */
  async authenticate(token: string): Promise<ApiKeyCaller> {
    const parsed = parseApiKey(token);
    if (!parsed) throw new UnauthenticatedError('malformed API key');
    const record = await this.record(parsed.id);
    // An unknown id and a wrong secret take one path: the same hash comparison (against a dummy
    // hash when there is no record) and the same refusal, so neither timing nor the answer tells
    // a guesser which ids exist.
    if (!apiKeyMatches(token, record?.hash) || !record) throw new UnauthenticatedError(`unknown API key ${parsed.id}`);
    if (record.revokedAt) throw new UnauthenticatedError(`revoked API key ${record.id}`);
    if (record.expiresAt && Date.parse(record.expiresAt) <= this.clock().getTime()) {
      throw new UnauthenticatedError(`expired API key ${record.id}`);
    }
    return { subject: `apikey:${record.id}`, role: record.role, groups: record.groups, keyId: record.id };
  }
}
