import { spawnSync } from 'node:child_process';
import { FIRST_SLOT_UID, MAX_SLOTS } from '../../core/runtime/detect-process-runtime.ts';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerImageContextPatterns } from '../../lib/runplane-stack.ts';
import { WORKER_HEALTHCHECK_PATH } from '../../lib/worker-pool.ts';

/**
 * Docker cannot run here, so the Dockerfile is checked by reading it: the properties that keep the
 * worker safe and stoppable are asserted one by one.
 */
interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

function parseDockerfile(text: string): { args: Map<string, string>; stages: { from: string; name?: string; body: Instruction[] }[] } {
  // Join continuation lines, drop comments and blank lines.
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const args = new Map<string, string>();
  const stages: { from: string; name?: string; body: Instruction[] }[] = [];
  for (const line of lines) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args: rest };
    if (instruction.keyword === 'ARG' && stages.length === 0) {
      const [name, value] = rest.split('=', 2) as [string, string | undefined];
      if (value !== undefined) args.set(name, value);
    } else if (instruction.keyword === 'FROM') {
      const [image, as, name] = rest.split(/\s+/);
      const resolved = image!.replace(/^\$\{(\w+)\}$/, (_m, v: string) => args.get(v) ?? '');
      stages.push({ from: resolved, ...(as?.toUpperCase() === 'AS' && name ? { name } : {}), body: [] });
    } else {
      stages.at(-1)?.body.push(instruction);
    }
  }
  return { args, stages };
}

describe('worker-image/Dockerfile', () => {
  let dockerfile: ReturnType<typeof parseDockerfile>;
  beforeAll(async () => {
    dockerfile = parseDockerfile(await readFile(new URL('../../worker-image/Dockerfile', import.meta.url), 'utf8'));
  });
  const runtime = () => dockerfile.stages.at(-1)!;
  const last = (keyword: string) => runtime().body.filter((i) => i.keyword === keyword).at(-1);

  it('is multi-stage, bundling the worker with esbuild in a build stage', () => {
    expect(dockerfile.stages.map((s) => s.name)).toEqual(['node', 'build', 'runtime']);
    const build = dockerfile.stages.find((s) => s.name === 'build')!;
    const bundle = build.body.find((i) => i.keyword === 'RUN' && i.args.includes('esbuild'))!;
    expect(bundle.args).toContain('npx esbuild worker-image/main.ts --bundle --platform=node --target=node22 --format=esm');
    expect(bundle.args).toContain('createRequire');
    expect(build.body.some((i) => i.keyword === 'RUN' && /npm ci\b.*--ignore-scripts/.test(i.args))).toBe(true);
    // The runtime stage takes only the bundle, not the sources or node_modules.
    expect(runtime().body.filter((i) => i.keyword === 'COPY').map((i) => i.args)).toEqual([
      '--from=node /usr/local/bin/node /usr/local/bin/node',
      '--from=build /out/ /app/',
    ]);
  });

  it('pins every base image to a versioned tag (Node.js 22, CUDA runtime)', () => {
    for (const stage of dockerfile.stages) {
      if (dockerfile.stages.some((s) => s.name === stage.from)) continue; // built on an earlier stage
      expect(stage.from).toMatch(/^[\w./-]+:\d+\.\d+\.\d+-[\w.-]+$/);
      expect(stage.from).not.toMatch(/:latest$/);
    }
    expect(dockerfile.stages[0]!.from).toMatch(/^node:22\.\d+\.\d+-/);
    expect(runtime().from).toMatch(/^nvidia\/cuda:12\.\d+\.\d+-runtime-ubuntu\d+\.\d+$/);
  });

  it('copies from the build context only what worker-image/.dockerignore admits', () => {
    const admitted = workerImageContextPatterns()
      .filter((p) => p.startsWith('!'))
      .map((p) => p.slice(1));
    const sources = dockerfile.stages
      .flatMap((s) => s.body)
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(admitted, source).toContain(source);
  });

  it('runs each job slot as an unprivileged uid of its own, matching the worker runtime', () => {
    // The worker itself is root only to drop each job to its slot uid (setpriv) and end that uid's processes.
    const create = runtime().body.find((i) => i.keyword === 'RUN' && i.args.includes('runplane-slot-'))!;
    expect(create.args).toContain(`seq 0 ${MAX_SLOTS - 1}`);
    expect(create.args).toContain(`--uid $((${FIRST_SLOT_UID} + i))`);
    expect(create.args).toContain('--shell /usr/sbin/nologin');
    expect(runtime().body.some((i) => i.keyword === 'RUN' && /apt-get install .*\butil-linux\b/.test(i.args))).toBe(true);
    // Jobs can reach their own directories under /work but cannot list it or read the worker's code.
    expect(create.args).toContain('chmod 0711 /work');
    expect(create.args).toContain('chmod 0700 /app');
  });

  it('starts through tini in exec form, so SIGTERM reaches the worker and orphans are reaped', () => {
    expect(JSON.parse(last('ENTRYPOINT')!.args)).toEqual(['/usr/bin/tini', '--']);
    expect(JSON.parse(last('CMD')!.args)).toEqual(['node', '--enable-source-maps', '/app/worker.mjs']);
    expect(runtime().body.some((i) => i.keyword === 'RUN' && /apt-get install .*\btini\b/.test(i.args))).toBe(true);
    expect(runtime().body.some((i) => i.keyword === 'STOPSIGNAL' && i.args !== 'SIGTERM')).toBe(false);
  });

  it('declares the health check the ECS task definition runs', () => {
    expect(last('HEALTHCHECK')!.args).toMatch(/^--interval=\d+s --timeout=\d+s --start-period=\d+s --retries=\d+ CMD \["node", "(.+)"\]$/);
    expect(last('HEALTHCHECK')!.args).toContain(`"${WORKER_HEALTHCHECK_PATH}"`);
    const build = dockerfile.stages.find((s) => s.name === 'build')!;
    expect(build.body.some((i) => i.args.includes(`cp worker-image/healthcheck.js /out/${WORKER_HEALTHCHECK_PATH.replace('/app/', '')}`))).toBe(true);
  });

  it('numbers GPUs in PCI order, matching nvidia-smi indices', () => {
    expect(last('ENV')!.args).toContain('CUDA_DEVICE_ORDER=PCI_BUS_ID');
  });
});

describe('worker-image/healthcheck.js', () => {
  let dir: string;
  const script = new URL('../../worker-image/healthcheck.js', import.meta.url).pathname;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'healthcheck-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const run = (env: Record<string, string>) => {
    const r = spawnSync(process.execPath, [script], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
    return { status: r.status, output: r.stdout.trim() };
  };

  it('is healthy with a fresh heartbeat and unhealthy with a stale one', async () => {
    const file = join(dir, 'heartbeat');
    await writeFile(file, '');
    expect(run({ RUNPLANE_WORKER_HEARTBEAT_FILE: file })).toMatchObject({ status: 0 });
    const tenMinutesAgo = new Date(Date.now() - 600_000);
    await utimes(file, tenMinutesAgo, tenMinutesAgo);
    const stale = run({ RUNPLANE_WORKER_HEARTBEAT_FILE: file });
    expect(stale.status).toBe(1);
    expect(stale.output).toMatch(/last heartbeat 600 s ago \(limit 120 s\)/);
    expect(run({ RUNPLANE_WORKER_HEARTBEAT_FILE: file, RUNPLANE_WORKER_HEARTBEAT_MAX_AGE_SECONDS: '900' }).status).toBe(0);
  });

  it('has nothing to judge before the first heartbeat or without a configured file', () => {
    expect(run({ RUNPLANE_WORKER_HEARTBEAT_FILE: join(dir, 'missing') })).toEqual({ status: 0, output: 'no heartbeat yet' });
    expect(run({})).toEqual({ status: 0, output: 'no heartbeat file configured' });
  });
});
