import { Logger } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions } from '@aws-lambda-powertools/logger/types';

/**
 * The one structured logger of Runplane: Powertools for AWS Lambda's Logger, used by the API
 * handlers, the workers and the local platform. In Lambda and ECS it prints one JSON object per
 * line to stdout (CloudWatch Logs); the local platform passes sinks instead, which receive the same
 * attributes: a JSON-lines file and a human console (core/observability/log-sinks.ts).
 *
 * Keys: `requestId`, `route`, `jobId`, `attempt`, `workerId` where they apply. Secrets never: any
 * key that names a credential is replaced by "[redacted]" before a line is written.
 *
 * @example
 * const logger = createStructuredLogger({ service: 'runplane-worker', persistentKeys: { workerId } });
 * logger.info('job started', { jobId, attempt });
 */

export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';

/** Receives each log line's attributes (level, message, timestamp, service, keys), already redacted. */
export type LogSink = (attributes: Readonly<Record<string, unknown>>) => void;

/** The function shape the core's services take (`log(level, message, fields)`), over one logger. */
export type LogFunction = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

const SECRET_KEY = /authorization|token|secret|password|passphrase|^key$|apikey|privatekey|cookie/i;

function redactSecrets(key: string, value: unknown): unknown {
  return key !== '' && SECRET_KEY.test(key) && (typeof value === 'string' || typeof value === 'object') && value !== null ? '[redacted]' : value;
}

class SinkLogger extends Logger {
  readonly #sinks: readonly LogSink[];

  constructor(options: ConstructorOptions, sinks: readonly LogSink[]) {
    super(options);
    this.#sinks = sinks;
  }

  protected override createLogger(options?: ConstructorOptions): Logger {
    return new SinkLogger(options ?? {}, this.#sinks);
  }

  protected override printLog(logLevel: number, log: Parameters<Logger['printLog']>[1]): void {
    if (this.#sinks.length === 0) {
      super.printLog(logLevel, log);
      return;
    }
    log.prepareForPrint();
    // Through JSON with the same replacer as the stdout path: errors serialized, secrets redacted.
    const attributes = JSON.parse(JSON.stringify(log.getAttributes(), this.getJsonReplacer())) as Record<string, unknown>;
    for (const sink of this.#sinks) sink(attributes);
  }
}

export interface StructuredLoggerOptions {
  /** `service` key of every line: runplane-api, runplane-worker, runplane-local. */
  readonly service: string;
  /** Defaults to POWERTOOLS_LOG_LEVEL or INFO. */
  readonly level?: LogLevelName;
  /** Keys on every line (a worker's `workerId`). */
  readonly persistentKeys?: Record<string, string | number>;
  /** Where lines go instead of stdout; none (the default) prints JSON to stdout as in Lambda. */
  readonly sinks?: readonly LogSink[];
}

export function createStructuredLogger(options: StructuredLoggerOptions): Logger {
  return new SinkLogger(
    {
      serviceName: options.service,
      ...(options.level ? { logLevel: options.level.toUpperCase() as 'INFO' } : {}),
      ...(options.persistentKeys ? { persistentKeys: options.persistentKeys } : {}),
      jsonReplacerFn: redactSecrets,
    },
    options.sinks ?? [],
  );
}

/** The core's `log(level, message, fields)` shape over a structured logger. */
export function logFunction(logger: Logger): LogFunction {
  return (level, message, fields = {}) => logger[level](message, fields);
}
