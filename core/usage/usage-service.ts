import * as z from 'zod';
import type { Caller } from '../auth/caller.ts';
import { groupNameSchema, resolveGroup } from '../auth/groups.ts';
import { ValidationError } from '../errors.ts';
import { systemClock, type Clock } from '../ids.ts';
import { parseOrThrow } from '../validation.ts';
import { aggregateUsage, idleCapacity, USAGE_GROUPINGS, type IdleCapacity, type UsageGrouping, type UsageRow } from './usage-report.ts';
import type { UsageRecord } from './usage-record.ts';
import { utcDay } from './usage-record-item.ts';
import type { UsageStore, UsageWindow } from './usage-store.ts';

const DAY_MS = 24 * 3600 * 1000;
/** A report's window when `from` is not given: the last week. */
export const DEFAULT_USAGE_WINDOW_DAYS = 7;
/** The longest window one report covers: an admin's report queries one partition per day. */
export const MAX_USAGE_WINDOW_DAYS = 366;
/** Day partitions read at once for an admin's report. */
const DAY_QUERY_CONCURRENCY = 8;

/** ISO instants have four-digit years. */
const LATEST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

const instant = z
  .string()
  .max(64)
  .refine((s) => {
    const t = Date.parse(s);
    return Number.isFinite(t) && t >= 0 && t < LATEST_INSTANT;
  }, 'must be an ISO 8601 date or time, like 2026-12-01 or 2026-12-01T12:00:00Z');

export const usageQuerySchema = z.strictObject({
  /** One group; else the caller's groups (admins: every group). */
  group: groupNameSchema.optional(),
  /** Only jobs this user (their owner, as jobs show it) submitted. */
  user: z.string().min(1).max(256).optional(),
  from: instant.optional(),
  to: instant.optional(),
  by: z.enum(USAGE_GROUPINGS).default('group'),
});

export interface UsageReport {
  readonly by: UsageGrouping;
  readonly from: string;
  readonly to: string;
  readonly rows: UsageRow[];
  /** Admins' unfiltered reports only: instance time no job held (core/usage/usage-report.ts). */
  readonly idle: IdleCapacity | null;
}

/**
 * GET /v1/usage: usage and cost of attempts that ended in a window, summed by group, user, queue or
 * day. Admins see every group (and idle capacity); others see their own groups, and naming another
 * group is a 403, as listing its jobs is (core/auth/groups.ts).
 */
export class UsageService {
  private readonly store: UsageStore;
  private readonly clock: Clock;

  constructor(options: { store: UsageStore; clock?: Clock }) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
  }

  async report(caller: Caller, query: unknown): Promise<UsageReport> {
    const q = parseOrThrow(usageQuerySchema, query, 'query');
    const window = this.window(q.from, q.to);
    let records: UsageRecord[];
    if (q.group !== undefined) {
      records = await this.store.listGroupUsage(resolveGroup(caller, q.group, 'job:read'), window);
    } else if (caller.role === 'admin') {
      records = (await mapLimited(daysOf(window), DAY_QUERY_CONCURRENCY, (day) => this.store.listDayUsage(day, window))).flat();
    } else {
      records = (await Promise.all(caller.groups.map((g) => this.store.listGroupUsage(resolveGroup(caller, g, 'job:read'), window)))).flat();
    }
    const everything = caller.role === 'admin' && q.group === undefined && q.user === undefined;
    const idle = everything ? idleCapacity(await this.store.listWorkerLifetimes(window), records, new Date(window.from), new Date(window.to)) : null;
    const selected = q.user === undefined ? records : records.filter((r) => r.owner === q.user);
    return { by: q.by, ...window, rows: aggregateUsage(selected, q.by), idle };
  }

  private window(from: string | undefined, to: string | undefined): UsageWindow {
    const end = to === undefined ? this.clock() : new Date(Date.parse(to));
    const start = from === undefined ? new Date(end.getTime() - DEFAULT_USAGE_WINDOW_DAYS * DAY_MS) : new Date(Date.parse(from));
    if (start.getTime() >= end.getTime()) {
      throw new ValidationError('invalid query', [{ path: 'from', message: 'must be before `to`' }]);
    }
    if (end.getTime() - start.getTime() > MAX_USAGE_WINDOW_DAYS * DAY_MS) {
      throw new ValidationError('invalid query', [{ path: 'from', message: `the window may span at most ${MAX_USAGE_WINDOW_DAYS} days` }]);
    }
    return { from: start.toISOString(), to: end.toISOString() };
  }
}

/** The UTC days a window touches, in order. */
export function daysOf(window: UsageWindow): string[] {
  const days: string[] = [];
  const last = utcDay(new Date(Date.parse(window.to) - 1).toISOString());
  for (let t = Date.parse(`${utcDay(window.from)}T00:00:00Z`); ; t += DAY_MS) {
    const day = utcDay(new Date(t).toISOString());
    days.push(day);
    if (day >= last) break;
  }
  return days;
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}
