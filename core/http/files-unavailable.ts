import { HttpError } from './api-error.ts';

/** What a file route answers on a deployment without an artifacts bucket (never the case in AWS). */
export function filesUnavailable(): HttpError {
  return new HttpError(404, 'NOT_FOUND', 'this deployment stores no files (no artifacts bucket is configured)');
}
