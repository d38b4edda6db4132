import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Role } from './caller.ts';

/** An API key as stored: never the key itself, only its hash. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string;
  /** Hex SHA-256 of the full key (core/auth/api-key.ts). */
  readonly hash: string;
  readonly role: Role;
  readonly groups: readonly string[];
  /** Subject of the admin who created it (`bootstrap` for the first admin key). */
  readonly createdBy: string;
  readonly createdAt: string;
  /** ISO time after which the key is refused; null for a key that does not expire. */
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly revokedBy: string | null;
}

export type ApiKeySummary = Omit<ApiKeyRecord, 'hash'>;

/**
 * One action of a DynamoDB transaction, as the audit chain builds them. Writes that change keys
 * take these so the audit entry commits in the same transaction as the change it records
 * (see specs/08-auth.md, "Audit seam").
 */
export type TransactionAction = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

export interface KeyWriteOptions {
  /** Extra actions committed atomically with the key write (the audit entry and chain head). */
  readonly extraActions?: readonly TransactionAction[];
}

export interface ApiKeyPage {
  readonly items: ApiKeySummary[];
  readonly nextCursor: string | null;
}

/**
 * What authentication and key management need from storage. Writes are transactions, so each
 * applies in full or not at all; failures arrive as domain errors (ApiKeyNotFoundError,
 * ApiKeyLimitError, TransactionConflictError, DependencyError).
 */
export interface ApiKeyStore {
  /** Stores a new key; ids are unique, so a duplicate is a bug and fails. */
  create(record: ApiKeyRecord, options?: KeyWriteOptions): Promise<void>;
  /** Stores the key unless one with its id exists (revoked or not): false when it did. */
  createIfAbsent(record: ApiKeyRecord, options?: KeyWriteOptions): Promise<boolean>;
  /** Strongly consistent, so a revocation is seen by the very next request. */
  get(id: string): Promise<ApiKeyRecord | undefined>;
  /** Newest first, without hashes. */
  list(limit: number, cursor?: string): Promise<ApiKeyPage>;
  /** Sets revokedAt/revokedBy once; revoking a revoked key returns it unchanged. */
  revoke(id: string, actor: string, now: Date, options?: KeyWriteOptions): Promise<ApiKeySummary>;
}
