/**
 * API base URLs: the `--url` parser and the default. Imports nothing heavy: main.ts loads it on
 * every start. Which URL a command uses is decided in api-connection.ts.
 */
import { InvalidArgumentError } from 'commander';

export const DEFAULT_API_URL = 'http://127.0.0.1:8787';

/** An http(s) base URL for the API (`--url`). */
export function parseBaseUrl(raw: string): string {
  if (!URL.canParse(raw)) throw new InvalidArgumentError('Expected a URL such as http://127.0.0.1:8787.');
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError('Expected an http:// or https:// URL.');
  return raw.replace(/\/+$/, '');
}
