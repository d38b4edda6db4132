import { appendFileSync, closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { humanConsoleLine } from '../core/observability/console-format.ts';
import { configureObservability, type Observability } from '../core/observability/observability.ts';

export const PLATFORM_LOG_FILE = 'platform.log';

export interface PlatformTelemetryOptions {
  readonly dataDir: string;
  /** Per-request lines on the console too (`runplane dev --verbose`). */
  readonly verbose: boolean;
  /** Where console lines go (stdout by default). */
  readonly console: (line: string) => void;
}

/**
 * The local platform's logger and metrics: the same structured logger (and EMF documents) the
 * Lambda handlers and workers write in AWS, configured for this process so the handlers it serves
 * use it too. Every record goes to `<dataDir>/platform.log` as one JSON line, as CloudWatch would
 * keep it; the console gets the human lines of core/observability/console-format.ts.
 */
export function startPlatformTelemetry(options: PlatformTelemetryOptions): Observability & { readonly logFile: string; close(): void } {
  const logFile = join(options.dataDir, PLATFORM_LOG_FILE);
  mkdirSync(dirname(logFile), { recursive: true });
  // Synchronous appends: a line is on disk before the platform can die after writing it, and
  // lines stay in order across the API, the workers and the platform. One descriptor for the
  // platform's life: a submit writes five records, and opening the file for each was a real part
  // of the local API's overhead (bench/dispatch.ts). After close(), lines still arrive (a late
  // handler) and are appended the slow way.
  let fd: number | undefined = openSync(logFile, 'a');
  const toFile = (record: Readonly<Record<string, unknown>>) => {
    const line = `${JSON.stringify(record)}\n`;
    try {
      if (fd === undefined) appendFileSync(logFile, line);
      else writeSync(fd, line);
    } catch {
      // A full or removed disk must not stop the platform; the console still has the line.
    }
  };
  const telemetry = configureObservability({
    service: 'runplane-local',
    sinks: [
      toFile,
      (record) => {
        const line = humanConsoleLine(record, options.verbose);
        if (line !== undefined) options.console(line);
      },
    ],
    metricsSink: toFile,
  });
  return {
    ...telemetry,
    logFile,
    close: () => {
      if (fd === undefined) return;
      const closing = fd;
      fd = undefined;
      closeSync(closing);
    },
  };
}
