/**
 * The one place a `RunplaneClient` is built: which API (below), the token (credentials.ts), and
 * the test doubles from `CliIo`.
 *
 * The API, in order: `--url`; `RUNPLANE_URL`; the local platform running from this directory, as
 * its `.runplane/local.json` (or `$RUNPLANE_DATA_DIR/local.json`) records it, so a platform
 * started with `--port 18787` is found without being told; the default local address.
 */
import type { Command } from 'commander';
import { findLocalPlatformApi } from '../core/auth/local-files.ts';
import { RunplaneClient } from './api-client.ts';
import { DEFAULT_API_URL, parseBaseUrl } from './base-url.ts';
import type { CliIo, GlobalOptions } from './cli-io.ts';
import { UsageError } from './cli-errors.ts';
import { resolveToken } from './credentials.ts';
import { nodeHttpTransport } from './node-http-transport.ts';

/** Says once per file that a local.json was not believed (core/auth/local-files.ts, Trust). */
function ignoredFileReporter(io: CliIo): (path: string, why: string) => void {
  const reported = new Set<string>();
  return (path, why) => {
    if (reported.has(path)) return;
    reported.add(path);
    io.stderr.write(`runplane: ignoring ${path}: ${why}\n`);
  };
}

/** The API base URL for a command (see the order above). */
export async function resolveBaseUrl(
  globals: GlobalOptions,
  io: CliIo,
  onIgnored: (path: string, why: string) => void = ignoredFileReporter(io),
): Promise<string> {
  if (globals.url !== undefined) return globals.url;
  const raw = io.env.RUNPLANE_URL;
  if (raw !== undefined && raw.trim() !== '') {
    try {
      return parseBaseUrl(raw.trim());
    } catch {
      throw new UsageError(`RUNPLANE_URL is not an http(s) URL: ${raw}`);
    }
  }
  const local = await findLocalPlatformApi({ env: io.env, ...(io.cwd === undefined ? {} : { cwd: io.cwd }), onIgnored });
  return local ?? DEFAULT_API_URL;
}

export interface ApiConnection {
  readonly client: RunplaneClient;
  /** `--json` was given: print the API's objects instead of text. */
  readonly json: boolean;
}

/** The client for the command being run, from its global options and the environment. */
export async function connectToApi(command: Command, io: CliIo): Promise<ApiConnection> {
  const globals = command.optsWithGlobals<GlobalOptions>();
  const onIgnored = ignoredFileReporter(io);
  const baseUrl = await resolveBaseUrl(globals, io, onIgnored);
  const client = new RunplaneClient({
    baseUrl,
    // Without --token or RUNPLANE_TOKEN, a local platform's own admin key (core/auth/local-files.ts).
    token: await resolveToken({
      flag: globals.token,
      env: io.env,
      baseUrl,
      ...(io.cwd === undefined ? {} : { cwd: io.cwd }),
      onIgnored,
    }),
    fetch: io.fetch ?? nodeHttpTransport,
    ...(io.sleep ? { sleep: io.sleep } : {}),
    ...(io.retry ? { retry: io.retry } : {}),
  });
  return { client, json: Boolean(globals.json) };
}
