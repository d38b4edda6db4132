import type { AuditEntry, ChainId } from './entry.ts';
import type { VerifyResult } from './verify.ts';

export interface ListAuditQuery {
  /** A `next` from a previous page; from the beginning when absent. */
  readonly after?: string;
  readonly limit: number;
  /** One chain only (a shard, or `root` for the checkpoints); every shard when absent. */
  readonly shard?: ChainId;
}

export interface AuditEntryView extends AuditEntry {
  readonly shard: ChainId;
}

export interface AuditPage {
  readonly entries: AuditEntryView[];
  /** Pass back as `after`. Always set: polling with it later returns entries appended since. */
  readonly next: string;
  /** More entries were already stored when this page was read. */
  readonly hasMore: boolean;
}

/**
 * Reading and maintaining the audit chain. Appending is not here: an entry is only ever written
 * inside the transaction of the change it records, through the adapter's transaction helpers
 * (DynamoDbAuditLog.transact / runWithEntry / entryActions), never on its own.
 */
export interface AuditLog {
  /** Entries of every shard merged by time (each shard in seq order), cursor-paged. */
  list(query: ListAuditQuery): Promise<AuditPage>;
  /** Reads every chain and recomputes every link (see verify.ts). */
  verify(): Promise<VerifyResult>;
  /**
   * Appends a checkpoint to the root chain recording every shard's head, unless nothing changed
   * since the last one. Returns the checkpoint written, or null.
   */
  checkpoint(time?: Date): Promise<AuditEntry | null>;
}
