/**
 * Following a job: its output live (`followJob`) or only its state (`waitForJob`).
 *
 * Both poll the API with cursors (PRODUCT.md, mistake 5: no in-memory channels), so following
 * works across API instances and survives reconnects. Completeness rests on one ordering: the job
 * is read first, then the attempt's events are drained. Workers store an attempt's output before
 * they report it finished, so when the job read earlier was already terminal (or had moved on to
 * a newer attempt), the drain after it has seen every event that attempt will ever have.
 *
 * Polling backs off while nothing happens (interval doubling up to a ceiling) and returns to the
 * fastest interval as soon as output arrives, so an idle week-long job costs a few requests a
 * minute while a chatty one streams with sub-second latency.
 */
import { outputEventBytes } from '../core/events/event.ts';
import { isTerminal } from './terminal-states.ts';
import type { ApiJob, JobEvent, RunplaneClient } from './api-client.ts';

/** Where output goes: text or raw bytes. May return a promise to apply back-pressure (see `streamWriter`). */
export type Writer = (chunk: string | Uint8Array) => void | Promise<void>;

export interface PollIntervals {
  /** The interval while output is flowing. */
  readonly minMs: number;
  /** The ceiling the interval doubles up to while nothing happens. */
  readonly maxMs: number;
}

export const FOLLOW_INTERVALS: PollIntervals = { minMs: 250, maxMs: 2_000 };
export const WAIT_INTERVALS: PollIntervals = { minMs: 500, maxMs: 5_000 };

// Large pages keep a fast producer from outrunning the reader; the server may cap it lower.
const EVENT_PAGE_SIZE = 1_000;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface FollowJobOptions {
  readonly client: Pick<RunplaneClient, 'getJob' | 'listEvents'>;
  readonly jobId: string;
  /**
   * Follow only this attempt and stop when it ends. Without it, following starts at the job's
   * latest attempt and moves on to each retry until the job is terminal.
   */
  readonly attempt?: number;
  /** Receives stdout output events, exactly as written (bytes that are not UTF-8 as bytes). */
  readonly stdout: Writer;
  /** Receives stderr output events, exactly as written. */
  readonly stderr: Writer;
  /** Called for every event (output and lifecycle) in order, before output is written; e.g. to print JSON lines. */
  readonly onEvent?: (event: JobEvent) => void | Promise<void>;
  /** Called when following moves on to a newer attempt (a retry). */
  readonly onAttempt?: (attempt: number, job: ApiJob) => void | Promise<void>;
  readonly intervals?: Partial<PollIntervals>;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Streams a job's output until the job is terminal and every event has been written (or, with
 * `attempt`, until that attempt has ended). Returns the job as last read.
 */
export async function followJob(options: FollowJobOptions): Promise<ApiJob> {
  const { client, jobId } = options;
  const intervals = { ...FOLLOW_INTERVALS, ...options.intervals };
  const sleep = options.sleep ?? defaultSleep;
  const fixed = options.attempt;

  let job = await client.getJob(jobId);
  let attempt = fixed ?? Math.max(job.attempt, 1);
  let after = 0;
  let delay = intervals.minMs;

  for (;;) {
    let sawEvents = false;
    if (job.attempt >= attempt) {
      for (;;) {
        const page = await client.listEvents(jobId, { attempt, after, limit: EVENT_PAGE_SIZE });
        for (const event of page.events) {
          await options.onEvent?.(event);
          if (event.kind === 'output')
            await (event.stream === 'stderr' ? options.stderr : options.stdout)(
              event.encoding === 'base64' ? outputEventBytes(event) : event.data,
            );
        }
        sawEvents ||= page.events.length > 0;
        after = page.next;
        if (!page.hasMore) break;
      }
    }

    if (fixed === undefined) {
      if (job.attempt > attempt) {
        // The snapshot already shows a newer attempt, so the one just drained is complete.
        attempt += 1;
        after = 0;
        await options.onAttempt?.(attempt, job);
        continue;
      }
      if (isTerminal(job.state)) return job;
    } else if (attemptEnded(job, fixed)) {
      return job;
    }

    // Output just arrived: more is likely, look again soon. Nothing: wait longer each time.
    if (sawEvents) delay = intervals.minMs;
    await sleep(delay);
    if (!sawEvents) delay = Math.min(delay * 2, intervals.maxMs);
    job = await client.getJob(jobId);
  }
}

/** A worker's reason in the words of a follow line: `exited with code 1` → `exit code 1`. */
function describeEnd(reason: string): string {
  return reason.replace(/^exited with code (-?\d+)$/, 'exit code $1').replace(/^killed by signal (\w+)$/, 'signal $1');
}

/**
 * The line `--follow` prints where a retry begins, from the previous attempt's reason
 * (`exited with code 1; retrying in 10 s (attempt 2 of 3)`): `--- attempt 2 (after exit code 1, retry in 10 s)`.
 */
export function attemptBoundaryLine(job: ApiJob, attempt: number): string {
  const reason = job.attempts.find((a) => a.attempt === attempt - 1)?.reason ?? '';
  const retry = /^(.*?); retrying in (\d+) s\b/.exec(reason);
  const cause = retry ? retry[1]! : reason;
  const parts = [...(cause ? [`after ${describeEnd(cause)}`] : []), ...(retry ? [`retry in ${retry[2]} s`] : [])];
  return `--- attempt ${attempt}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

/** The line `--follow` ends with: `--- SUCCEEDED`, `--- FAILED (exit code 3)`, `--- CANCELLED by alice`. */
export function finalStateLine(job: ApiJob): string {
  const reason = job.reason ?? '';
  if (job.state === 'SUCCEEDED') return '--- SUCCEEDED';
  if (job.state === 'CANCELLED' && reason.startsWith('cancelled by ')) return `--- CANCELLED ${reason.slice('cancelled '.length)}`;
  return `--- ${job.state}${reason ? ` (${describeEnd(reason)})` : ''}`;
}

function attemptEnded(job: ApiJob, attempt: number): boolean {
  if (isTerminal(job.state) || job.attempt > attempt) return true;
  return job.attempts.some((a) => a.attempt === attempt && a.finishedAt !== undefined);
}

export interface WaitForJobOptions {
  readonly client: Pick<RunplaneClient, 'getJob'>;
  readonly jobId: string;
  /** Called with each job read whose state, attempt or waiting reason differs from the previous one. */
  readonly onChange?: (job: ApiJob) => void | Promise<void>;
  readonly intervals?: Partial<PollIntervals>;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Polls a job until it is terminal and returns it. */
export async function waitForJob(options: WaitForJobOptions): Promise<ApiJob> {
  const intervals = { ...WAIT_INTERVALS, ...options.intervals };
  const sleep = options.sleep ?? defaultSleep;
  let delay = intervals.minMs;
  let previous: string | undefined;
  for (;;) {
    const job = await options.client.getJob(options.jobId);
    // An array's counts are part of it: its progress is a change too.
    const signature = `${job.state}/${job.attempt}/${job.waitingReason ?? ''}/${job.arrayStatus ? JSON.stringify(job.arrayStatus) : ''}`;
    if (signature !== previous) {
      previous = signature;
      await options.onChange?.(job);
      // A change means things are moving: look again soon.
      delay = intervals.minMs;
    }
    if (isTerminal(job.state)) return job;
    await sleep(delay);
    delay = Math.min(delay * 2, intervals.maxMs);
  }
}

/**
 * A `Writer` over a Node stream that waits for `drain` when the stream's buffer is full, so a
 * slow terminal or pipe slows the polling instead of buffering a job's whole output in memory.
 */
export function streamWriter(stream: NodeJS.WritableStream): Writer {
  return (chunk) => {
    if (stream.write(chunk)) return;
    // `error` and `close` settle it too: a reader that went away (EPIPE) must not hang the loop.
    return new Promise<void>((resolve) => {
      const done = () => {
        stream.off('drain', done).off('error', done).off('close', done);
        resolve();
      };
      stream.once('drain', done).once('error', done).once('close', done);
    });
  };
}
