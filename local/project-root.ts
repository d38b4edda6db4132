import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The repository root (the folder of Runplane's package.json), found by walking up from this
 * module. A path relative to `import.meta.url` breaks once the code is bundled (the CLI runs from
 * dist/cli/chunks/), so files that ship beside the sources (the DynamoDB Local launcher, the built
 * console) are located from here instead.
 */
export function projectRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'runplane') {
      cached = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`Runplane's package.json was not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
