import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OutputStream } from '../events/event.ts';

/*
 * Output capture through files, not pipes.
 *
 * A process writing to a pipe can lose what it wrote last: Node (and others) write to pipes
 * asynchronously and `process.exit()` does not wait, and whatever is still in the pipe when the
 * reader stops is gone. A file write is complete when the syscall returns, so everything the job
 * wrote before it died is on disk, however it died (Slurm writes job output to files for the same
 * reason). The job gets its stdout and stderr as files opened O_APPEND in the attempt's capture
 * directory (outside its working directory, so globs and archives of the working directory never
 * see them), and the worker tails them live.
 *
 * Back-pressure: the tailer reads a chunk, hands it to `onOutput` and, when that returns false,
 * reads nothing more until `whenWritable()` resolves. The job is never slowed and memory never
 * grows: the backlog waits on disk, bounded by the disk (the job's output is the only thing that
 * can fill it, as with Slurm).
 */

/** One read; the batcher's events are 64 KiB by default, so a read fills about one. */
const READ_BYTES = 64 * 1024;
/** Idle polling backs off from the first to the second: a line printed by an idle job shows within ~50 ms. */
const POLL_MIN_MS = 5;
const POLL_MAX_MS = 50;

export interface CaptureFiles {
  readonly dir: string;
  readonly paths: Record<OutputStream, string>;
  /** Write descriptors to hand to the child (stdio); close them in the parent once it is spawned. */
  readonly writeFds: Record<OutputStream, number>;
  /** Removes the directory when the capture made it itself. */
  dispose(): void;
}

/** Creates (truncates) `stdout` and `stderr` in `dir`, or in a fresh temporary directory. */
export function createCaptureFiles(dir?: string): CaptureFiles {
  const own = dir === undefined;
  const where = dir ?? mkdtempSync(join(tmpdir(), 'runplane-capture-'));
  mkdirSync(where, { recursive: true, mode: 0o700 });
  const paths = { stdout: join(where, 'stdout'), stderr: join(where, 'stderr') };
  // Truncate first (a retried attempt reusing the directory starts empty), then open O_APPEND so
  // the job cannot seek back over bytes the tailer already read.
  for (const path of Object.values(paths)) closeSync(openSync(path, 'w', 0o600));
  const writeFds = { stdout: openSync(paths.stdout, 'a'), stderr: openSync(paths.stderr, 'a') };
  return {
    dir: where,
    paths,
    writeFds,
    dispose: () => {
      if (own) rmSync(where, { recursive: true, force: true });
    },
  };
}

export interface TailOptions {
  readonly path: string;
  readonly stream: OutputStream;
  readonly onOutput: (stream: OutputStream, chunk: Buffer) => boolean;
  readonly whenWritable: () => Promise<void>;
  /** True once no process can write to the file any more: the tail reads to the end, then stops. */
  readonly writersGone: () => boolean;
  /** Resolves early from an idle wait (the writers just went away). */
  readonly idle: (ms: number) => Promise<void>;
}

/** Reads the file from the start, live, until the writers are gone and every byte was handed over. */
export async function tailFile(options: TailOptions): Promise<void> {
  const file = await open(options.path, 'r');
  try {
    let position = 0;
    let pollMs = POLL_MIN_MS;
    for (;;) {
      // Read before deciding to stop: a write that landed just before the writers went is read.
      const last = options.writersGone();
      const buffer = Buffer.allocUnsafe(READ_BYTES);
      const { bytesRead } = await file.read(buffer, 0, READ_BYTES, position);
      if (bytesRead > 0) {
        position += bytesRead;
        pollMs = POLL_MIN_MS;
        const chunk = bytesRead === READ_BYTES ? buffer : Buffer.from(buffer.subarray(0, bytesRead));
        if (!options.onOutput(options.stream, chunk)) await options.whenWritable();
        continue;
      }
      if (last) return;
      await options.idle(pollMs);
      pollMs = Math.min(POLL_MAX_MS, pollMs * 2);
    }
  } finally {
    await file.close();
  }
}
