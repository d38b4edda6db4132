import type { JobEvent } from './event.ts';

/** Where a producer (the worker's OutputBatcher) sends events. */
export interface EventSink {
  append(events: readonly JobEvent[]): Promise<void>;
}

export interface ListEventsQuery {
  readonly jobId: string;
  readonly attempt: number;
  /** Return events with seq strictly greater than this; 0 (the default) reads from the start. */
  readonly afterSeq?: number;
  /** At most this many events (a positive integer). */
  readonly limit: number;
}

export interface EventPage {
  /** Ascending by seq, all from the requested attempt. */
  readonly events: JobEvent[];
  /** The afterSeq that continues this read: the last seq returned, or the query's afterSeq when none. */
  readonly next: number;
  /**
   * True when the read stopped early (limit or one storage page reached) and more events may
   * follow right away. False means "caught up": a follower polls again later with `next`.
   */
  readonly hasMore: boolean;
}

/**
 * What the platform needs from event storage. Readers use cursor-style reads (`afterSeq`/`next`)
 * against the store itself, so following output works from any API server (no in-memory fan-out).
 */
export interface EventStore extends EventSink {
  /**
   * Stores every event or throws (a DependencyError once retries are exhausted, a RangeError for
   * an event too large to store). Idempotent per (jobId, attempt, seq): a retried batch is harmless.
   */
  append(events: readonly JobEvent[]): Promise<void>;
  /**
   * Events of one attempt with seq > afterSeq, ascending, at most `limit` and at most one
   * storage page (DynamoDB: one Query call, so 1 MB of items). Stops before the first missing
   * seq (see contiguousPage), so a follower never steps over an event still being written.
   */
  list(query: ListEventsQuery): Promise<EventPage>;
}

/**
 * Cuts a page at the first missing seq. BatchWriteItem is not atomic: while the batcher retries
 * an unprocessed put, seq n+1 can be stored before n. A follower that took such a page as is would
 * continue after n+1 and never see n. Cut there, the page reads as "caught up" (`hasMore` false)
 * and the next poll from `next` picks n up once it lands.
 */
export function contiguousPage(events: readonly JobEvent[], afterSeq: number, stoppedEarly: boolean): EventPage {
  let end = 0;
  while (end < events.length && events[end]!.seq === afterSeq + end + 1) end++;
  const page = events.slice(0, end);
  return { events: page, next: page.at(-1)?.seq ?? afterSeq, hasMore: end === events.length && stoppedEarly };
}
