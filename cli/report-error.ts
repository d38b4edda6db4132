/**
 * How a command's failure reaches the user: a message on stderr (JSON with `--json`) and the
 * exit code for it (exit-codes.ts).
 */
import { CommanderError } from 'commander';
import { ApiError, ConnectionError } from './api-client.ts';
import type { CliIo } from './cli-io.ts';
import { ExitWith, UsageError } from './cli-errors.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.ts';
import { formatError } from './format-error.ts';

/** Reports `error` on `io.stderr` and returns the exit code for it. */
export function reportError(error: unknown, io: CliIo, json: boolean): number {
  if (error instanceof ExitWith) return error.exitCode;
  // Commander has already printed its message (or the help / version text).
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (error instanceof UsageError) {
    io.stderr.write(`error: ${error.message}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof ApiError || error instanceof ConnectionError) {
    if (json) {
      const body =
        error instanceof ApiError
          ? {
              error: { code: error.code, message: error.message, details: error.details },
              status: error.status,
            }
          : {
              error: {
                code: 'UNREACHABLE',
                message: error.message,
                details: { url: error.baseUrl, reason: error.reason ?? null },
              },
            };
      io.stderr.write(`${JSON.stringify(body)}\n`);
    } else {
      io.stderr.write(formatError(error));
    }
    return EXIT_FAILURE;
  }
  // Anything else (a local platform that failed to start, a bug): the message, and the stack on request.
  const detail =
    error instanceof Error
      ? io.env.RUNPLANE_DEBUG
        ? (error.stack ?? error.message)
        : error.message
      : String(error);
  io.stderr.write(`error: ${detail}\n`);
  return EXIT_FAILURE;
}
