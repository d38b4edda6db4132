import type { JobEvent } from './event.ts';
import { assertWithinItemLimit, eventPartitionKey, eventToItem } from './item-size.ts';
import { contiguousPage, type EventPage, type EventStore, type ListEventsQuery } from './store.ts';

/**
 * In-process EventStore for tests and tools that need no DynamoDB. Same contract as the DynamoDB
 * adapter (it passes the same conformance suite): idempotent per (jobId, attempt, seq), attempts
 * isolated, items over 400 KB refused. `hasMore` is exact here, where DynamoDB may also report it
 * when the limit happened to end on the last event.
 */
export class InMemoryEventStore implements EventStore {
  private readonly partitions = new Map<string, Map<number, JobEvent>>();

  async append(events: readonly JobEvent[]): Promise<void> {
    for (const event of events) assertWithinItemLimit(eventToItem(event), `event ${event.jobId}#${event.attempt}/${event.seq}`);
    for (const event of events) {
      const pk = eventPartitionKey(event.jobId, event.attempt);
      let partition = this.partitions.get(pk);
      if (!partition) this.partitions.set(pk, (partition = new Map()));
      partition.set(event.seq, structuredClone(event));
    }
  }

  async list(query: ListEventsQuery): Promise<EventPage> {
    const afterSeq = query.afterSeq ?? 0;
    if (!Number.isInteger(query.limit) || query.limit < 1) throw new RangeError(`limit must be a positive integer, got ${query.limit}`);
    if (!Number.isInteger(afterSeq) || afterSeq < 0) throw new RangeError(`afterSeq must be a non-negative integer, got ${afterSeq}`);
    const partition = this.partitions.get(eventPartitionKey(query.jobId, query.attempt)) ?? new Map<number, JobEvent>();
    const matching = [...partition.values()].filter((e) => e.seq > afterSeq).sort((a, b) => a.seq - b.seq);
    const events = matching.slice(0, query.limit).map((e) => structuredClone(e));
    return contiguousPage(events, afterSeq, matching.length > query.limit);
  }
}
