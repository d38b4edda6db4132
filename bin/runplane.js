#!/usr/bin/env node
// The `runplane` CLI. Runs the bundle that `npm ci` / `npm install` build (npm run build:cli,
// scripts/build-cli.ts) when it matches the sources; otherwise, in a clone without a build or
// after a source changed, the TypeScript sources through tsx (slower to start, same behaviour).
import { readFileSync, statSync } from 'node:fs';
import { URL } from 'node:url';

// The SDK's Node 20 end-of-support notice is noise for CLI users; versions are pinned by the lockfile.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const root = new URL('../', import.meta.url);
const bundle = new URL('dist/cli/main.js', root);

/** Why the bundle cannot be used, or undefined when it is current. */
function bundleProblem() {
  if (process.env.RUNPLANE_CLI_FROM_SOURCE) return 'RUNPLANE_CLI_FROM_SOURCE is set';
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(new URL('dist/cli/manifest.json', root), 'utf8'));
  } catch {
    return 'the CLI bundle is not built (npm run build:cli)';
  }
  for (const source of manifest.sources) {
    const stat = statSync(new URL(source, root), { throwIfNoEntry: false });
    if (!stat || stat.mtimeMs > manifest.builtAtMs) return `${source} changed after the CLI bundle was built (npm run build:cli)`;
  }
  return undefined;
}

const problem = bundleProblem();
let main;
if (problem === undefined) {
  ({ main } = await import(bundle.href));
} else {
  // A terminal gets told why this start is slow; scripts reading stderr get nothing extra.
  if (process.stderr.isTTY && !process.env.RUNPLANE_CLI_FROM_SOURCE) {
    process.stderr.write(`runplane: running from the TypeScript sources: ${problem}\n`);
  }
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../cli/main.ts'));
}
await main(process.argv);
