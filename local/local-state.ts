import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { RuntimeConfig } from '../core/config.ts';
import { readLocalSecrets } from './local-secrets.ts';

/**
 * Written by a running local platform so that `runplane worker` in another terminal can join it.
 * Its config holds no secret: the DynamoDB Local key and the dispatch key stay in their 0600 files.
 */
export const LOCAL_STATE_FILE = 'local.json';

export interface LocalState {
  readonly api: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly config: RuntimeConfig;
}

export async function readLocalState(dataDir = '.runplane'): Promise<LocalState> {
  const file = join(resolve(dataDir), LOCAL_STATE_FILE);
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch {
    throw new Error(`no running local platform found (${file} is missing): start one with \`npm start\``);
  }
  const state = JSON.parse(raw) as LocalState;
  try {
    process.kill(state.pid, 0);
  } catch {
    throw new Error(`the local platform recorded in ${file} (pid ${state.pid}) is not running: start it with \`npm start\``);
  }
  return state;
}

/** The running platform's configuration with its keys, read from their 0600 files: what a joining worker needs. */
export async function readLocalConfig(dataDir = '.runplane'): Promise<RuntimeConfig> {
  const state = await readLocalState(dataDir);
  return { ...state.config, ...(await readLocalSecrets(dataDir)) };
}
