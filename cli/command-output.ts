/**
 * How commands write: text and JSON to stdout, diagnostics to stderr, progress notes to a
 * terminal only, and a job's own output neutralised on a terminal (terminal-sanitizer.ts).
 * Every write applies the stream's back-pressure (follow.ts `streamWriter`).
 */
import type { CliIo, OutputStream } from './cli-io.ts';
import { streamWriter, type Writer } from './follow.ts';
import { TerminalSanitizer } from './terminal-sanitizer.ts';

export interface CommandOutput {
  readonly out: Writer;
  readonly err: Writer;
  /** One API object, pretty-printed. */
  readonly printJson: (value: unknown) => void | Promise<void>;
  /** One object per line, for streams. */
  readonly printJsonLine: (value: unknown) => void | Promise<void>;
  /** A progress note on stderr when it is a terminal; nothing otherwise. */
  readonly note: (text: string) => void | Promise<void>;
  /**
   * Writers for a job's own output. A stream that is a terminal gets it with its control
   * sequences neutralised, unless `raw`; a pipe or a file gets the bytes exactly as written.
   * Call once per command: each writer keeps its sequence state across chunks.
   */
  readonly jobWriters: (raw: boolean) => { readonly stdout: Writer; readonly stderr: Writer };
}

function jobWriter(stream: OutputStream, write: Writer, raw: boolean): Writer {
  if (raw || !stream.isTTY) return write;
  const sanitizer = new TerminalSanitizer();
  return (chunk) => {
    const text = sanitizer.write(chunk);
    return text === '' ? undefined : write(text);
  };
}

export function commandOutput(io: CliIo): CommandOutput {
  const out = streamWriter(io.stdout);
  const err = streamWriter(io.stderr);
  return {
    out,
    err,
    printJson: (value) => out(`${JSON.stringify(value, null, 2)}\n`),
    printJsonLine: (value) => out(`${JSON.stringify(value)}\n`),
    // Progress notes go to a terminal only: scripts reading stderr get the job's stderr unmixed.
    note: (text) => (io.stderr.isTTY ? err(`runplane: ${text}\n`) : undefined),
    jobWriters: (raw) => ({ stdout: jobWriter(io.stdout, out, raw), stderr: jobWriter(io.stderr, err, raw) }),
  };
}
