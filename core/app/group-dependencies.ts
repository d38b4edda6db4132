import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDbAuditLog } from '../audit/dynamodb-audit-log.ts';
import type { RuntimeConfig } from '../config.ts';
import { DynamoDbGroupStore } from '../groups/dynamodb-group-store.ts';
import { GroupQuotaCounters } from '../groups/group-quota-counters.ts';
import type { GroupStates } from '../scheduling/group-states.ts';
import { createDynamoDbClient, type ClientsOptions } from './clients.ts';

/**
 * The group store and the quota counters every job store of a deployment composes (API, workers,
 * maintenance, the local platform): the same counters everywhere, so each path that ends a RUNNING
 * state gives back what the claim took.
 */
export function createGroupParts(config: RuntimeConfig, client: DynamoDBDocumentClient, audit?: DynamoDbAuditLog) {
  const groups = new DynamoDbGroupStore({ client, tableName: config.tables.jobs, ...(audit ? { audit } : {}) });
  const quotas = new GroupQuotaCounters({
    groups,
    tableName: config.tables.jobs,
    ...(config.groupUsageHalfLifeSeconds !== undefined ? { usageHalfLifeSeconds: config.groupUsageHalfLifeSeconds } : {}),
  });
  return { groups, quotas };
}

/** The scheduler's view of the groups (weights, quotas, use, decayed usage), from the group items. */
export function createGroupStates(config: RuntimeConfig, options: ClientsOptions & { readonly client?: DynamoDBDocumentClient } = {}): GroupStates {
  return new DynamoDbGroupStore({ client: options.client ?? createDynamoDbClient(config, options), tableName: config.tables.jobs });
}
