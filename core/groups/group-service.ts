import type { Caller } from '../auth/caller.ts';
import { groupNameSchema } from '../auth/groups.ts';
import { canSeeGroup, requirePermission } from '../auth/policy.ts';
import { DomainError } from '../errors.ts';
import { systemClock, type Clock } from '../ids.ts';
import { parseOrThrow } from '../validation.ts';
import { groupView, type DynamoDbGroupStore } from './dynamodb-group-store.ts';
import { groupSettingsSchema, type GroupView } from './group.ts';

export class GroupNotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  constructor(readonly group: string) {
    super(`group ${group} not found`, { group });
  }
}

export interface GroupServiceDependencies {
  readonly store: DynamoDbGroupStore;
  readonly clock?: Clock;
}

/**
 * The groups' use cases behind `/v1/groups`: everyone reads the groups they belong to (admins
 * every group), admins change quotas and weights. Every group exists implicitly with the default
 * settings, so reading an unconfigured group answers its defaults rather than 404; a group the
 * caller may not see answers 404, as jobs of other groups do.
 */
export class GroupService {
  private readonly store: DynamoDbGroupStore;
  private readonly clock: Clock;

  constructor(deps: GroupServiceDependencies) {
    this.store = deps.store;
    this.clock = deps.clock ?? systemClock;
  }

  /** Admins: every group that was configured or ran a job, and their own; others: their own groups. */
  async list(caller: Caller): Promise<GroupView[]> {
    requirePermission(caller, 'group:read');
    const names = caller.role === 'admin' ? [...(await this.store.listNames()), ...caller.groups] : [...caller.groups];
    const records = await this.store.readMany(names.filter((n) => canSeeGroup(caller, n)));
    const now = this.clock();
    return [...records.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((g) => groupView(g, now));
  }

  async get(name: string, caller: Caller): Promise<GroupView> {
    const group = parseGroupName(name);
    if (!canSeeGroup(caller, group)) throw new GroupNotFoundError(group);
    requirePermission(caller, 'group:read', group);
    const records = await this.store.readMany([group]);
    return groupView(records.get(group)!, this.clock());
  }

  /** Changes the group's quotas and weight (admins), audited in the same transaction. */
  async update(name: string, body: unknown, caller: Caller): Promise<GroupView> {
    const group = parseGroupName(name);
    requirePermission(caller, 'group:manage', group);
    const change = parseOrThrow(groupSettingsSchema, body, 'group settings');
    const now = this.clock();
    return groupView(await this.store.updateSettings(group, change, caller.subject, now), now);
  }
}

function parseGroupName(name: string): string {
  return parseOrThrow(groupNameSchema, name, 'group name');
}
