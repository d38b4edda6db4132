import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Handler entries, the lock file and the worker image's build context are all relative to this. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
