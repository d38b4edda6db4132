import type { InboxListing } from '../queue/job-queue.ts';
import type { WorkerRecord } from '../workers/registry.ts';

/**
 * How long an inbox may go without a live worker naming it before the sweep deletes it: several
 * times WORKER_SEEN_WITHIN_MS (60 s), itself six report intervals (10 s). A worker that stalls this
 * long (a suspended laptop, a debugger) finds its inbox gone and opens it again (core/worker).
 */
export const INBOX_ABANDONED_AFTER_MS = 5 * 60_000;

/**
 * The inboxes to delete (pure; specs/11-scheduling.md, decision 21): those no worker that reported
 * within `abandonedAfterMs` names as its inbox, and that were created longer ago than that (a worker
 * opens its inbox before its first report names it, so a young inbox is left alone).
 */
export function abandonedInboxes(
  inboxes: readonly InboxListing[],
  workers: readonly Pick<WorkerRecord, 'inbox' | 'lastSeenAt'>[],
  now: Date,
  abandonedAfterMs: number = INBOX_ABANDONED_AFTER_MS,
): string[] {
  const since = now.getTime() - abandonedAfterMs;
  const named = new Set(workers.filter((w) => w.inbox !== undefined && new Date(w.lastSeenAt).getTime() >= since).map((w) => w.inbox));
  return inboxes.filter((i) => !named.has(i.address) && i.createdAt.getTime() < since).map((i) => i.address);
}
