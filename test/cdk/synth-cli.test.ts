import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../lambdas/routes.ts';
import { presentReliabilityEntries } from '../../lib/runplane-stack.ts';

/**
 * `npx cdk synth --quiet` exactly as a user runs it, with every AWS_* variable removed and an empty
 * HOME (no ~/.aws): synthesis must need no credentials, no context lookups and no network. It also
 * bundles every handler with esbuild and runs cdk-nag, so a handler that does not build or a new
 * unacknowledged finding fails here.
 */
describe('cdk synth (CLI, no credentials)', () => {
  let work: string;
  let outdir: string;
  let result: { code: number | null; output: string; ms: number };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'runplane-synth-'));
    outdir = join(work, 'cdk.out');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('CDK_')));
    const started = Date.now();
    result = await new Promise((resolve, reject) => {
      const child = spawn('npx', ['cdk', 'synth', '--quiet', '--output', outdir], {
        cwd: join(import.meta.dirname, '../..'),
        env: {
          ...env,
          HOME: work,
          // Keep the CLI and npm from asking the internet about newer versions.
          CDK_DISABLE_VERSION_CHECK: '1',
          npm_config_update_notifier: 'false',
          CI: 'true',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, output, ms: Date.now() - started }));
    });
  }, 240_000);
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('succeeds, with cdk-nag and without context lookups', async () => {
    expect(result.code, result.output).toBe(0);
    const manifest = JSON.parse(await readFile(join(outdir, 'manifest.json'), 'utf8')) as { missing?: unknown[]; artifacts: Record<string, unknown> };
    expect(manifest.missing).toBeUndefined();
    expect(Object.keys(manifest.artifacts)).toContain('runplane');
    // The whole synth (tsx start, bundling, nag) stays interactive.
    expect(result.ms).toBeLessThan(180_000);
  });

  it('bundles every handler into one minified ESM file with the AWS SDK inside', async () => {
    const template = JSON.parse(await readFile(join(outdir, 'runplane.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string }; Handler?: string; Runtime?: string } }>;
    };
    const all = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    // CDK's own custom resource provider framework (plain JavaScript it ships) and its
    // BucketDeployment handler (Python, deploys the console's files) are not ours to bundle.
    const functions = all.filter((r) => r.Properties.Handler !== 'framework.onEvent' && !String(r.Properties.Runtime).startsWith('python'));
    expect(all.length - functions.length).toBe(2);
    // One per route, the scaler, the scheduler, the background handlers that exist, and the auth bootstrap.
    expect(functions).toHaveLength(ROUTES.length + 2 + Object.keys(presentReliabilityEntries()).length + 1);
    for (const fn of functions) {
      const hash = fn.Properties.Code!.S3Key!.replace(/\.zip$/, '');
      const files = await readdir(join(outdir, `asset.${hash}`));
      expect(files).toEqual(['index.mjs']);
      const code = await readFile(join(outdir, `asset.${hash}`, 'index.mjs'), 'utf8');
      expect(code.startsWith("import { createRequire } from 'node:module';")).toBe(true);
      // Nothing left for the runtime to resolve but Node's own modules.
      const imports = [...code.matchAll(/(?:^|[;\s])(?:import|from)\s*["']([^"']+)["']/g)].map((m) => m[1]!);
      expect(imports.filter((m) => !m.startsWith('node:') && !/^[a-z_]+$/.test(m))).toEqual([]);
      // Minified: long lines, no indentation (newlines left are inside template literals).
      expect(code.length / code.split('\n').length).toBeGreaterThan(400);
    }
  });

  it('stages the worker image context without building it', async () => {
    const assets = JSON.parse(await readFile(join(outdir, 'runplane.assets.json'), 'utf8')) as {
      dockerImages: Record<string, { source: { directory: string; dockerFile: string; platform: string } }>;
    };
    const images = Object.values(assets.dockerImages);
    expect(images).toHaveLength(1);
    expect(images[0]!.source).toMatchObject({ dockerFile: 'worker-image/Dockerfile', platform: 'linux/amd64' });
    const staged = (await readdir(join(outdir, images[0]!.source.directory))).sort();
    expect(staged).toEqual(['core', 'package-lock.json', 'package.json', 'worker-image']);
  });
});
