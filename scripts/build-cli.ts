/**
 * Builds the CLI bundle that bin/runplane.js runs: `npm run build:cli`, run by `npm ci` and
 * `npm install` through the `prepare` script.
 *
 * One ESM entry (cli/main.ts) with code splitting, so each `import()` of a command, of the local
 * platform or of the worker becomes its own chunk, loaded only when that command runs. Small
 * pure-JS packages the commands need on every start are bundled (one file to parse instead of
 * dozens to resolve); everything else (the AWS SDK, fauxqs, DynamoDB Local, and whatever a later
 * dependency brings, native add-ons included) stays external and is loaded from node_modules
 * by the platform and worker chunks that need it.
 *
 * Beside the chunks, manifest.json lists the repository's source files that went in; bin/runplane.js
 * runs the TypeScript sources instead when any of them changed after the build (specs/07-cli.md).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const DEFAULT_OUT_DIR = join(ROOT, 'dist', 'cli');
export const MANIFEST_FILE = 'manifest.json';

/** Packages parsed on every start: bundled. Anything not listed is loaded from node_modules. */
const BUNDLED_PACKAGES = new Set(['commander', 'zod', 'ulid', 'jose']);

/** What bin/runplane.js reads to decide whether the bundle still matches the sources. */
export interface BundleManifest {
  /** Milliseconds since the epoch at the start of the build: a source changed later is newer than the bundle. */
  readonly builtAtMs: number;
  /** Source files of this repository in the bundle, relative to the repository root. */
  readonly sources: readonly string[];
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

export interface BuiltBundle {
  readonly manifest: BundleManifest;
  /** For each output file (relative to the repository root), the files it imports statically. */
  readonly staticImports: Readonly<Record<string, readonly string[]>>;
  /** For each output file, the inputs in it (repository-relative, node_modules included). */
  readonly inputsOf: Readonly<Record<string, readonly string[]>>;
}

/** Builds the bundle into `outDir` (replacing what was there). */
export async function buildCliBundle(outDir: string = DEFAULT_OUT_DIR): Promise<BuiltBundle> {
  const esbuild = await import('esbuild');
  const builtAtMs = Date.now();
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: { main: join(ROOT, 'cli', 'main.ts') },
    outdir: outDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    chunkNames: 'chunks/[name]-[hash]',
    minify: true,
    // Error classes and the SDK's error translation go by constructor names.
    keepNames: true,
    metafile: true,
    logLevel: 'warning',
    // Bundled CommonJS (commander) calls require() for node built-ins.
    banner: { js: "import { createRequire as __runplaneRequire } from 'node:module'; const require = __runplaneRequire(import.meta.url);" },
    plugins: [
      {
        name: 'external-packages',
        setup(build) {
          build.onResolve({ filter: /^[^./]/ }, (args) => {
            if (args.path.startsWith('node:') || BUNDLED_PACKAGES.has(packageName(args.path))) return undefined;
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  // esbuild names files relative to the working directory.
  const fromRoot = (path: string) => relative(ROOT, resolve(process.cwd(), path));
  const sources = Object.keys(result.metafile.inputs)
    .map(fromRoot)
    .filter((path) => !path.startsWith('node_modules') && !path.startsWith('..'))
    .sort();
  const manifest: BundleManifest = { builtAtMs, sources };
  await writeFile(join(outDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  const outputs = Object.entries(result.metafile.outputs).map(([file, output]) => [fromRoot(file), output] as const);
  return {
    manifest,
    staticImports: Object.fromEntries(
      outputs.map(([file, output]) => [
        file,
        output.imports.filter((i) => i.kind === 'import-statement').map((i) => (i.external ? i.path : fromRoot(i.path))),
      ]),
    ),
    inputsOf: Object.fromEntries(outputs.map(([file, output]) => [file, Object.keys(output.inputs).map(fromRoot)])),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await import('esbuild');
  } catch {
    // An install without devDependencies (npm ci --omit=dev): bin/runplane.js runs the sources.
    console.warn('build:cli: esbuild is not installed; the CLI will run from its TypeScript sources');
    process.exit(0);
  }
  const { manifest } = await buildCliBundle(process.argv[2] ? resolve(process.argv[2]) : DEFAULT_OUT_DIR);
  console.log(`build:cli: bundled ${manifest.sources.length} source files into ${relative(process.cwd(), DEFAULT_OUT_DIR)}`);
}
