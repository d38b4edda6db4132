import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/dynamodb-local.ts';
import { buildCliBundle, type BuiltBundle } from '../../scripts/build-cli.ts';
import { fakeNvidiaSmiDir } from '../support/docker.ts';

/**
 * The CLI as `npm ci` ships it: the esbuild bundle. `--help` loads no command, schema, platform or
 * SDK code; `runplane dev` on a port of its own and `runplane worker` run from the bundle; and
 * the CLI in the platform's directory finds that port without RUNPLANE_URL (issue 8, items 3, 7).
 */
describe('the bundled CLI', () => {
  // Inside the repository, so the packages left external resolve from its node_modules.
  const outDir = resolve('dist', `cli-test-${randomUUID().slice(0, 8)}`);
  const project = mkdtempSync(join(tmpdir(), 'runplane-bundle-'));
  const children: ChildProcess[] = [];
  let bundle: BuiltBundle;
  let port: number;
  /** A fake nvidia-smi listing four GPUs, first on PATH: the workers play a GPU box. */
  let fakeGpus: string;

  /** The environment of a user who has set nothing for Runplane. */
  const env = () => {
    const e: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: join(project, 'runtime'), PATH: `${fakeGpus}:${process.env.PATH ?? ''}` };
    for (const name of ['RUNPLANE_URL', 'RUNPLANE_TOKEN', 'RUNPLANE_DATA_DIR']) delete e[name];
    return e;
  };

  /** Starts `runplane ARGS` from the bundle in the project directory; `output()` is everything it printed so far. */
  function start(args: readonly string[]) {
    const script = `const { main } = await import(${JSON.stringify(join(outDir, 'main.js'))}); await main(process.argv);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, '--', 'runplane', ...args], {
      cwd: project,
      env: env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    return { child, output: () => output, exited };
  }

  async function run(args: readonly string[]) {
    const started = start(args);
    const code = await started.exited;
    return { code, output: started.output() };
  }

  /** Resolves once `text` appears in what `child` printed (event-driven; the hook's timeout bounds it). */
  function printed(started: ReturnType<typeof start>, text: string): Promise<void> {
    return new Promise((resolveSeen, reject) => {
      const check = () => {
        if (started.output().includes(text)) resolveSeen();
      };
      started.child.stdout!.on('data', check);
      started.child.stderr!.on('data', check);
      void started.exited.then((code) => reject(new Error(`exited ${code} before printing "${text}":\n${started.output()}`)));
      check();
    });
  }

  beforeAll(async () => {
    bundle = await buildCliBundle(outDir);
    port = await freePort();
    fakeGpus = await fakeNvidiaSmiDir();
  }, 120_000);

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(outDir, { recursive: true, force: true });
    rmSync(project, { recursive: true, force: true });
  });

  it('loads only commander and the wiring for --help: no command, schema, platform or SDK code', () => {
    const main = Object.keys(bundle.staticImports).find((file) => file.endsWith('/main.js'))!;
    const loaded = new Set<string>();
    const visit = (file: string) => {
      if (loaded.has(file)) return;
      loaded.add(file);
      for (const next of bundle.staticImports[file] ?? []) visit(next);
    };
    visit(main);
    const inputs = [...loaded].flatMap((file) => bundle.inputsOf[file] ?? [file]);
    expect(inputs.some((i) => i.includes('node_modules/commander/'))).toBe(true);
    expect(inputs).toContain('cli/main.ts');
    const heavy = inputs.filter((i) => /node_modules\/zod\/|^cli\/commands\/|^local\/|^core\/worker\/|^core\/jobs\/|@aws-sdk|fauxqs|jose/.test(i));
    expect(heavy).toEqual([]);
    // The repository's own sources are listed for the staleness check in bin/runplane.js.
    expect(bundle.manifest.sources).toEqual(expect.arrayContaining(['cli/main.ts', 'cli/commands/get.ts', 'local/platform.ts']));
    expect(bundle.manifest.sources.some((s) => s.startsWith('node_modules'))).toBe(false);
  });

  it('prints help and the version', async () => {
    const help = await run(['--help']);
    expect(help.code, help.output).toBe(0);
    expect(help.output).toContain('submit a job and print its id');
    const version = await run(['--version']);
    expect(version.output.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(version.output.trim()).not.toBe('0.0.0');
  });

  it(
    'runs `dev --port P` and `worker` from the bundle; the CLI in that directory finds port P by itself',
    async () => {
      // No workers in the platform: the one started below, from the bundle, runs the job.
      const platform = start(['dev', '--port', String(port), '--in-memory', '--workers', '0']);
      await printed(platform, `Runplane is running at http://127.0.0.1:${port}`);
      const worker = start(['worker', '--queue', 'default', '--drain-seconds', '0']);
      // It says which GPUs it found (the fake nvidia-smi's four), before it takes any job.
      await printed(worker, 'GPUs: 4 found by nvidia-smi: 0: NVIDIA A10G (23028 MiB), 1: NVIDIA A10G');

      // No RUNPLANE_URL and no token: the port and the admin key come from .runplane/local.json.
      const submitted = await run(['submit', '--wait', '--', 'node', '-e', "console.log('from the bundle')"]);
      expect(submitted.code, `${submitted.output}\nworker:\n${worker.output()}`).toBe(0);
      const id = submitted.output.trim().split('\n')[0]!;
      const logs = await run(['logs', id]);
      expect(logs.output).toBe('from the bundle\n');
      const listed = await run(['list']);
      expect(listed.code, listed.output).toBe(0);
      expect(listed.output).toContain(id);

      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      platform.child.kill('SIGINT');
      expect(await platform.exited, platform.output()).toBe(0);
    },
    240_000,
  );

  it(
    '`dev` with workers says which GPUs they found',
    async () => {
      const dev = start(['dev', '--port', String(await freePort()), '--data-dir', join(project, 'gpu-box')]);
      await printed(dev, 'GPUs:     4 found by nvidia-smi: 0: NVIDIA A10G (23028 MiB)');
      // Ctrl-C only once the platform says it handles it (a signal before that kills it outright).
      await printed(dev, 'Press Ctrl-C to stop.');
      dev.child.kill('SIGINT');
      expect(await dev.exited, dev.output()).toBe(0);
    },
    120_000,
  );
});
