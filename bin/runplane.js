#!/usr/bin/env node
// The `runplane` CLI. The source is TypeScript run through tsx, so a clone works without a build step.
import { register } from 'tsx/esm/api';

// The SDK's Node 20 end-of-support notice is noise for CLI users; versions are pinned by the lockfile.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { main } = await import('../cli/main.ts');
await main(process.argv);
