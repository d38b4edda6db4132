/**
 * What the CLI touches outside itself. Commands get it through their `CommandContext`, never from
 * `process` directly, so tests run the whole CLI in-process and replace any part of it.
 */
import type { HttpTransport, RetryPolicy } from './api-client.ts';
import type { PollIntervals } from './follow.ts';

export type OutputStream = NodeJS.WritableStream & { readonly isTTY?: boolean };

/** Everything the CLI touches outside itself; tests replace any of it. */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where `.runplane/` is looked for; the process's working directory by default. */
  readonly cwd?: string;
  /** How requests are sent; `node:http` by default (node-http-transport.ts). */
  readonly fetch?: HttpTransport;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly retry?: Partial<RetryPolicy>;
  readonly followIntervals?: Partial<PollIntervals>;
  readonly waitIntervals?: Partial<PollIntervals>;
  readonly now?: () => Date;
  readonly newIdempotencyKey?: () => string;
}

/** The options every command inherits from the program (`runplane --url ... get ID`). */
export interface GlobalOptions {
  readonly url?: string;
  readonly token?: string;
  readonly json?: boolean;
}
