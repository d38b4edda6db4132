/**
 * What happened during one attempt of a job, in order: output chunks and lifecycle records
 * (process started, exited, signalled...). `seq` is contiguous from 1 within an attempt, across
 * both output streams and lifecycle events, so a reader can tell a gap from the end of the data.
 */
export type OutputStream = 'stdout' | 'stderr';

export const OUTPUT_STREAMS: readonly OutputStream[] = ['stdout', 'stderr'];

interface EventBase {
  readonly jobId: string;
  /** 1-based attempt the event belongs to; attempts never share a partition. */
  readonly attempt: number;
  readonly seq: number;
  /** ISO 8601: when the first byte of an output event was received, or when a lifecycle event happened. */
  readonly ts: string;
}

export interface OutputEvent extends EventBase {
  readonly kind: 'output';
  readonly stream: OutputStream;
  /**
   * The bytes the process wrote: UTF-8 text, or with `encoding: 'base64'` bytes that are not valid
   * UTF-8, base64-encoded. Concatenating the decoded `data` in seq order (per stream) reproduces
   * exactly what the process wrote.
   */
  readonly data: string;
  /** Absent for text (the usual case). */
  readonly encoding?: 'base64';
}

export interface LifecycleEvent extends EventBase {
  readonly kind: 'lifecycle';
  readonly name: string;
  readonly details: Record<string, unknown>;
}

export type JobEvent = OutputEvent | LifecycleEvent;

/** The bytes an output event holds. */
export function outputEventBytes(event: OutputEvent): Buffer {
  return Buffer.from(event.data, event.encoding === 'base64' ? 'base64' : 'utf8');
}
