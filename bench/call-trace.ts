import type { MeteredCall } from '../core/aws/request-meter.ts';
import { dynamoItemSizeBytes } from '../core/events/item-size.ts';

/**
 * The cost model's per-call breakdown of one job: every metered call that names the job (its id
 * is in the request), in order, with what it wrote (each action's table, kind of item and, for a
 * put, the item's size) and the units DynamoDB reported for the base table and for each GSI.
 */
export interface TracedCall {
  readonly atMs: number;
  readonly call: MeteredCall;
}

export interface TraceLine {
  readonly atMs: number;
  readonly call: string;
  readonly actions: readonly string[];
  readonly writeUnits: number;
  readonly readUnits: number;
  /** `table` or `table/gsi` → units. */
  readonly units: Readonly<Record<string, number>>;
}

/** The physical table names → the names to print (`jobs`, `events`, `audit`). */
export type TableNames = Readonly<Record<string, string>>;

type Action = { TableName?: string; Key?: Record<string, unknown>; Item?: Record<string, unknown> };

/** `JOB#01J…` → `JOB`, `SHARD#3` → `SHARD`, `01J…#1` (an event partition) → `event`. */
function itemKind(key: Record<string, unknown> | undefined): string {
  const pk = key?.pk;
  if (typeof pk !== 'string') return '?';
  const prefix = pk.split('#')[0]!;
  return /^[A-Z]+$/.test(prefix) ? prefix : 'event';
}

function describeAction(kind: string, action: Action, tables: TableNames): string {
  const table = tables[action.TableName ?? ''] ?? action.TableName ?? '?';
  const size = action.Item ? ` ${dynamoItemSizeBytes(action.Item)} B` : '';
  return `${kind} ${table}:${itemKind(action.Key ?? action.Item)}${size}`;
}

function actionsOf(call: MeteredCall, tables: TableNames): string[] {
  const input = call.input as {
    TransactItems?: Record<string, Action>[];
    RequestItems?: Record<string, { PutRequest?: { Item: Record<string, unknown> }; DeleteRequest?: { Key: Record<string, unknown> } }[] | { Keys: unknown[] }>;
  } & Action;
  if (call.service !== 'dynamodb') return [];
  if (input.TransactItems) {
    return input.TransactItems.flatMap((a) => Object.entries(a).map(([kind, action]) => describeAction(kind, action, tables)));
  }
  if (input.RequestItems) {
    return Object.entries(input.RequestItems).flatMap(([table, requests]) =>
      Array.isArray(requests)
        ? requests.map((r) => (r.PutRequest ? describeAction('Put', { TableName: table, Item: r.PutRequest.Item }, tables) : describeAction('Delete', { TableName: table, ...(r.DeleteRequest ?? {}) }, tables)))
        : [`${requests.Keys.length} keys of ${tables[table] ?? table}`],
    );
  }
  const kind = call.operation.replace(/Item$/, '');
  return [describeAction(kind, input, tables)];
}

/** The calls that name `jobId`, as lines to print and to keep in the results. */
export function traceOfJob(calls: readonly TracedCall[], jobId: string, tables: TableNames): TraceLine[] {
  const first = calls.find((c) => JSON.stringify(c.call.input).includes(jobId))?.atMs ?? 0;
  return calls
    .filter((c) => JSON.stringify(c.call.input).includes(jobId))
    .map(({ atMs, call }) => {
      const units: Record<string, number> = {};
      for (const t of call.capacity ?? []) {
        const table = tables[t.table] ?? t.table;
        if (t.tableUnits > 0) units[table] = (units[table] ?? 0) + t.tableUnits;
        for (const [index, u] of Object.entries(t.indexes)) if (u > 0) units[`${table}/${index}`] = (units[`${table}/${index}`] ?? 0) + u;
      }
      return {
        atMs: Math.round(atMs - first),
        call: `${call.service}:${call.operation}`,
        actions: actionsOf(call, tables),
        writeUnits: call.writeUnits,
        readUnits: call.readUnits,
        units,
      };
    });
}

/** The trace as a table for a person: one line per call. */
export function formatTrace(lines: readonly TraceLine[]): string {
  const rows = lines.map((l) => {
    const units = Object.entries(l.units).map(([k, v]) => `${k} ${v}`).join(', ');
    const ru = l.readUnits > 0 ? ` ${l.readUnits} RU` : '';
    const wu = l.writeUnits > 0 ? ` ${l.writeUnits} WU` : '';
    return `  +${String(l.atMs).padStart(6)} ms  ${l.call.padEnd(30)}${wu}${ru}${units ? ` [${units}]` : ''}${l.actions.length ? `  ${l.actions.join('; ')}` : ''}`;
  });
  const wu = lines.reduce((n, l) => n + l.writeUnits, 0);
  const ru = lines.reduce((n, l) => n + l.readUnits, 0);
  return `${rows.join('\n')}\n  total ${wu} write units, ${ru} read units in ${lines.length} calls\n`;
}
