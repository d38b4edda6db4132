import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { TableDefinition } from '../core/resources.ts';

/**
 * The DynamoDB actions each kind of access needs, named once so the API functions, the worker and
 * the background functions are granted from the same lists and the tests can assert them.
 *
 * A TransactWriteItems call is authorized action by action (PutItem, UpdateItem,
 * ConditionCheckItem on the items it touches); there is no separate transaction permission.
 * Nothing here grants DeleteItem: jobs, events and audit entries are never deleted by code, TTL
 * expires them. (Workers alone may delete their own registry items: lib/worker-pool.ts.)
 */
export const TABLE_ACTIONS = {
  /** Get one item, query a partition or a GSI. */
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
  /** Create and transition jobs (conditional puts and updates, transactions with guard items). */
  writeJobs: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
  /** Append output and lifecycle events in batches; read the last sequence number. */
  appendEvents: ['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem'],
  /** Append a link to the audit chain (in the mutation's transaction): read the head, put conditionally. */
  appendAudit: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:ConditionCheckItem'],
} as const;

export type TableAccess = keyof typeof TABLE_ACTIONS;

/**
 * The table's ARN and each of its GSIs' ARNs, named one by one from the shared definition (Query on
 * a GSI is authorized on the index's ARN), so no grant needs an `index/*` wildcard.
 */
export function tableResources(table: dynamodb.TableV2, definition: TableDefinition): string[] {
  return [table.tableArn, ...definition.globalIndexes.map((gsi) => `${table.tableArn}/index/${gsi.indexName}`)];
}
