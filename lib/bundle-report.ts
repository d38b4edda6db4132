import { resolve } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { HANDLER_BUNDLE } from './bundling.ts';
import { REPO_ROOT } from './paths.ts';

export interface HandlerBundle {
  /** Size of the minified bundle, in bytes: what Lambda loads at cold start. */
  readonly bytes: number;
  readonly metafile: Metafile;
}

/**
 * Bundles one handler (path relative to the repository root, e.g. `lambdas/get-job.ts`) in memory
 * with the stack's own esbuild options, for size reports. Nothing is written to disk.
 */
export async function bundleHandler(entry: string): Promise<HandlerBundle> {
  const result = await build({
    ...HANDLER_BUNDLE,
    mainFields: [...HANDLER_BUNDLE.mainFields],
    external: [...HANDLER_BUNDLE.external],
    entryPoints: [resolve(REPO_ROOT, entry)],
    absWorkingDir: REPO_ROOT,
    outfile: 'index.mjs',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const bytes = result.outputFiles.reduce((sum, file) => sum + file.contents.byteLength, 0);
  return { bytes, metafile: result.metafile };
}
