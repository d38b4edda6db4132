/**
 * The one shape of a log call across the core (handlers, services, authenticator): a level, a
 * message and structured fields. Its own module, so any layer may log without importing another.
 */
export type Logger = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
