import { describe, expect, it } from 'vitest';
import { bundleHandler } from '../../lib/bundle-report.ts';
import { HANDLER_BUNDLE, handlerBundlingOptions } from '../../lib/bundling.ts';

describe('bundleHandler', () => {
  it('builds a handler in memory with the stack options and reports its size', async () => {
    const { bytes, metafile } = await bundleHandler('lambdas/scale-workers.ts');
    const [output] = Object.values(metafile.outputs);
    expect(output!.bytes).toBe(bytes);
    expect(bytes).toBeGreaterThan(10_000);
    const inputs = Object.keys(metafile.inputs);
    expect(inputs).toContain('lambdas/scale-workers.ts');
    expect(inputs).toContain('core/scaling/policy.ts');
    // The AWS SDK is inside the bundle, not left to the runtime.
    expect(inputs.some((i) => i.includes('node_modules/@aws-sdk/client-ecs/'))).toBe(true);
    expect(output!.imports.filter((i) => i.external && !i.path.startsWith('node:') && !/^[a-z_]+$/.test(i.path))).toEqual([]);
  }, 60_000);

  it('shares its options with the stack', () => {
    expect(handlerBundlingOptions()).toMatchObject({
      minify: HANDLER_BUNDLE.minify,
      target: 'node22',
      format: 'esm',
      externalModules: [],
      mainFields: ['module', 'main'],
      banner: HANDLER_BUNDLE.banner.js,
    });
  });
});
