#!/usr/bin/env node
// The `runplane` CLI. The source is TypeScript run through tsx, so a clone works without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
await main(process.argv);
