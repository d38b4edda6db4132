/**
 * Which API a command talks to and with which token: the one place a `RunplaneClient` is built.
 * Precedence for the URL: `--url`, then `RUNPLANE_URL`, then the default local address; for the
 * token see credentials.ts.
 */
import type { Command } from 'commander';
import { RunplaneClient } from './api-client.ts';
import type { CliIo, GlobalOptions } from './cli-io.ts';
import { UsageError } from './cli-errors.ts';
import { resolveToken } from './credentials.ts';
import { parseBaseUrl } from './options.ts';

export const DEFAULT_API_URL = 'http://127.0.0.1:8787';

/** The API base URL for a command: `--url`, else `RUNPLANE_URL`, else the local default. */
export function resolveBaseUrl(globals: GlobalOptions, env: CliIo['env']): string {
  if (globals.url !== undefined) return globals.url;
  const raw = env.RUNPLANE_URL;
  if (raw === undefined || raw.trim() === '') return DEFAULT_API_URL;
  try {
    return parseBaseUrl(raw.trim());
  } catch {
    throw new UsageError(`RUNPLANE_URL is not an http(s) URL: ${raw}`);
  }
}

export interface ApiConnection {
  readonly client: RunplaneClient;
  /** `--json` was given: print the API's objects instead of text. */
  readonly json: boolean;
}

/** The client for the command being run, from its global options and the environment. */
export async function connectToApi(command: Command, io: CliIo): Promise<ApiConnection> {
  const globals = command.optsWithGlobals<GlobalOptions>();
  const baseUrl = resolveBaseUrl(globals, io.env);
  const client = new RunplaneClient({
    baseUrl,
    // Without --token or RUNPLANE_TOKEN, a local platform's own admin key (core/auth/local-files.ts).
    token: await resolveToken({ flag: globals.token, env: io.env, baseUrl }),
    ...(io.fetch ? { fetch: io.fetch } : {}),
    ...(io.sleep ? { sleep: io.sleep } : {}),
    ...(io.retry ? { retry: io.retry } : {}),
  });
  return { client, json: Boolean(globals.json) };
}
