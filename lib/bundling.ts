import type { BuildOptions } from 'esbuild';
import { OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';

/**
 * How every Lambda handler is bundled, declared once: the stack hands these options to
 * NodejsFunction, and lib/bundle-report.ts builds with exactly the same ones to measure sizes.
 *
 * - ESM, because the project is ESM; bundled dependencies that still call `require` (parts of the
 *   AWS SDK) get one through the createRequire banner.
 * - Nothing external: the AWS SDK v3 is bundled, so the versions in package-lock.json are the ones
 *   that run, not whatever the Lambda runtime ships that month.
 * - `module` before `main` lets esbuild take the SDK's ES builds, which tree-shake better.
 */
export const HANDLER_BUNDLE = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  minify: true,
  sourcemap: false,
  mainFields: ['module', 'main'],
  external: [],
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
} as const satisfies BuildOptions;

/** HANDLER_BUNDLE in NodejsFunction's terms. */
export function handlerBundlingOptions(): BundlingOptions {
  return {
    minify: HANDLER_BUNDLE.minify,
    sourceMap: HANDLER_BUNDLE.sourcemap,
    target: HANDLER_BUNDLE.target,
    format: OutputFormat.ESM,
    mainFields: [...HANDLER_BUNDLE.mainFields],
    externalModules: [...HANDLER_BUNDLE.external],
    banner: HANDLER_BUNDLE.banner.js,
  };
}
