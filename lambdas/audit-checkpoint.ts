/**
 * Scheduled (EventBridge, every 5 minutes): appends a checkpoint of every audit shard's head to the
 * root chain, so deleting the newest entries of a shard is detected by `audit verify` once a
 * checkpoint has seen them. Writes nothing when no shard moved since the last checkpoint.
 * The root head is logged each time: a copy outside the table to compare against (spec 04).
 */
import { DynamoDbAuditLog } from '../core/audit/dynamodb-audit-log.ts';
import { createDocumentClient } from '../core/aws/dynamodb-client.ts';
import { dynamoDbClientOptions } from '../core/aws/client-options.ts';
import { loadRuntimeConfig } from '../core/config.ts';
import { jsonLogger } from '../core/http/api-handler.ts';

let audit: DynamoDbAuditLog | undefined;

export async function handler() {
  if (!audit) {
    const config = loadRuntimeConfig();
    const client = createDocumentClient(dynamoDbClientOptions(config));
    audit = new DynamoDbAuditLog({ client, tableName: config.tables.audit });
  }
  const checkpoint = await audit.checkpoint();
  if (checkpoint) {
    jsonLogger('info', 'audit checkpoint', { rootSeq: checkpoint.seq, rootHash: checkpoint.hash, shards: checkpoint.details.shards });
  } else {
    jsonLogger('info', 'audit checkpoint skipped: no shard moved');
  }
  return { written: checkpoint !== null, seq: checkpoint?.seq ?? null, hash: checkpoint?.hash ?? null };
}
