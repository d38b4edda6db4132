import { describe, expect, it } from 'vitest';
import { abandonedInboxes, INBOX_ABANDONED_AFTER_MS } from '../../core/maintenance/abandoned-inboxes.ts';
import { WORKER_SEEN_WITHIN_MS } from '../../core/jobs/waiting-reason.ts';

const now = new Date('2026-06-01T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);
const WINDOW = 60_000;
const inbox = (address: string, createdMsAgo: number) => ({ address, createdAt: ago(createdMsAgo) });
const worker = (address: string | undefined, seenMsAgo: number) => ({ ...(address ? { inbox: address } : {}), lastSeenAt: ago(seenMsAgo).toISOString() });

describe('abandonedInboxes: which inboxes the sweep deletes', () => {
  // [case, inboxes, workers, expected deletions]
  const cases: [string, ReturnType<typeof inbox>[], ReturnType<typeof worker>[], string[]][] = [
    ['an inbox its live worker names is kept', [inbox('q-inbox-a', 10 * WINDOW)], [worker('q-inbox-a', 1_000)], []],
    ['an old inbox no worker names is deleted (a worker killed outright, its record expired)', [inbox('q-inbox-a', 10 * WINDOW)], [], ['q-inbox-a']],
    ['an inbox whose worker stopped reporting longer ago than the window is deleted', [inbox('q-inbox-a', 10 * WINDOW)], [worker('q-inbox-a', WINDOW + 1)], ['q-inbox-a']],
    ['a worker seen just inside the window keeps it', [inbox('q-inbox-a', 10 * WINDOW)], [worker('q-inbox-a', WINDOW)], []],
    ['a young inbox is kept though no report names it yet (its worker opens it before its first report)', [inbox('q-inbox-a', WINDOW - 1)], [], []],
    ['another worker\'s inbox does not keep this one', [inbox('q-inbox-a', 10 * WINDOW), inbox('q-inbox-b', 10 * WINDOW)], [worker('q-inbox-b', 0)], ['q-inbox-a']],
    ['a live worker without an inbox keeps none', [inbox('q-inbox-a', 10 * WINDOW)], [worker(undefined, 0)], ['q-inbox-a']],
    ['nothing listed, nothing deleted', [], [worker('q-inbox-a', 0)], []],
  ];
  it.each(cases)('%s', (_case, inboxes, workers, expected) => {
    expect(abandonedInboxes(inboxes, workers, now, WINDOW)).toEqual(expected);
  });

  it('waits several times the window in which a worker counts as live before it deletes', () => {
    expect(INBOX_ABANDONED_AFTER_MS).toBeGreaterThanOrEqual(3 * WORKER_SEEN_WITHIN_MS);
    // A worker that missed its reports for two minutes (a suspended laptop) keeps its inbox by default.
    expect(abandonedInboxes([inbox('q-inbox-a', 10 * INBOX_ABANDONED_AFTER_MS)], [worker('q-inbox-a', 2 * WORKER_SEEN_WITHIN_MS)], now)).toEqual([]);
  });
});
