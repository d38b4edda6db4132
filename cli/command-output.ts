/**
 * How commands write: text and JSON to stdout, diagnostics to stderr, progress notes to a
 * terminal only. Every write applies the stream's back-pressure (follow.ts `streamWriter`).
 */
import type { CliIo } from './cli-io.ts';
import { streamWriter, type Writer } from './follow.ts';

export interface CommandOutput {
  readonly out: Writer;
  readonly err: Writer;
  /** One API object, pretty-printed. */
  readonly printJson: (value: unknown) => void | Promise<void>;
  /** One object per line, for streams. */
  readonly printJsonLine: (value: unknown) => void | Promise<void>;
  /** A progress note on stderr when it is a terminal; nothing otherwise. */
  readonly note: (text: string) => void | Promise<void>;
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
  };
}
