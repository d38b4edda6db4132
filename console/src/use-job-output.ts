import { useEffect, useReducer, useRef } from 'react';
import type { RunplaneClient } from '../../cli/api-client.ts';
import { describeError } from './api.ts';
import { LogLineBuffer } from './log-lines.ts';

// New lines must show within 2 s of being written: the worker flushes about every second, so poll
// every second and at once again while the server says there is more.
const POLL_MS = 1_000;
const PAGE = 1_000;

export interface JobOutput {
  readonly buffer: LogLineBuffer;
  /** Changes whenever lines were added; use as a render dependency. */
  readonly version: number;
  readonly error: string | null;
}

/**
 * Follows one attempt's events with the API's cursor (`after`), keeping every line in one buffer
 * (100,000 lines are fine: the view is virtualised). Stops polling once the job is finished and
 * the last page was read.
 */
export function useJobOutput(client: RunplaneClient, jobId: string, attempt: number, live: boolean): JobOutput {
  const state = useRef<{ key: string; buffer: LogLineBuffer; after: number; error: string | null }>({
    key: '',
    buffer: new LogLineBuffer(),
    after: 0,
    error: null,
  });
  const key = `${jobId}#${attempt}`;
  if (state.current.key !== key) state.current = { key, buffer: new LogLineBuffer(), after: 0, error: null };
  const [version, bump] = useReducer((n: number) => n + 1, 0);
  const liveRef = useRef(live);
  liveRef.current = live;

  useEffect(() => {
    if (attempt < 1) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const current = state.current;
    const poll = async () => {
      // Read whether the job was live before the request: a job that finished meanwhile gets one
      // more full read, so its last lines are never missed.
      const wasLive = liveRef.current;
      try {
        for (;;) {
          const page = await client.listEvents(jobId, { attempt, after: current.after, limit: PAGE });
          if (stopped) return;
          for (const event of page.events) if (event.kind === 'output') current.buffer.append(event);
          current.after = page.next;
          current.error = null;
          if (page.events.length > 0) bump();
          if (!page.hasMore) break;
        }
      } catch (err) {
        if (stopped) return;
        current.error = describeError(err);
        bump();
      }
      if (!stopped && (wasLive || current.error)) timer = setTimeout(() => void poll(), POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [client, jobId, attempt, key, live]);

  return { buffer: state.current.buffer, version, error: state.current.error };
}
