/**
 * How fast the CLI starts, as ratios to a bare `node -e 0` measured in the same run (issue 8,
 * item 7: `--help` ≤ 2×, `get ID` against the local platform ≤ 3×).
 *
 * The bundle is built first (what `npm ci` ships), then each sample spawns a fresh process, as a
 * shell would: `node -e 0`, `node bin/runplane.js --help`, `node bin/runplane.js get ID`,
 * interleaved so that load on the machine affects all three alike. `get` runs in a directory whose
 * `.runplane/local.json` names the platform started here, with no RUNPLANE_URL or token, so it
 * includes the discovery of the platform and of its admin key. For comparison, fewer samples of
 * the same commands from the TypeScript sources through tsx (the start before the bundle) and
 * through `npx`.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startLocalPlatform } from '../local/platform.ts';
import { buildCliBundle } from '../scripts/build-cli.ts';
import { ratio, summarize } from './stats.ts';

const BIN = resolve('bin/runplane.js');

/** Wall-clock milliseconds from spawn to exit; throws when the command fails. */
function timeCommand(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  return new Promise((resolveTime, reject) => {
    const t = performance.now();
    const child = spawn(command, args, {
      cwd: options.cwd ?? process.cwd(),
      env: options.env ?? process.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t;
      if (code === 0) resolveTime(ms);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
    });
  });
}

export async function benchCliStartup(options: { samples: number; sourceSamples: number }) {
  const { manifest } = await buildCliBundle();
  const workDir = `/tmp/runplane-bench-cli-${randomUUID().slice(0, 8)}`;
  const dataDir = join(workDir, '.runplane');
  await mkdir(workDir, { recursive: true });
  const platform = await startLocalPlatform({ inMemory: true, port: 0, workers: 0, dataDir, log: () => undefined });
  try {
    const res = await fetch(`${platform.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${platform.adminKey}` },
      body: JSON.stringify({ command: ['true'], queue: 'gpu', labels: { bench: 'cli' } }),
    });
    if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
    const { id } = (await res.json()) as { id: string };

    // The user's environment without anything that points the CLI elsewhere.
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of ['RUNPLANE_URL', 'RUNPLANE_TOKEN', 'RUNPLANE_DATA_DIR', 'RUNPLANE_CLI_FROM_SOURCE']) delete env[name];
    const fromSource = { ...env, RUNPLANE_CLI_FROM_SOURCE: '1' };
    const node = () => timeCommand(process.execPath, ['-e', '0'], { env });
    const help = (e = env) => timeCommand(process.execPath, [BIN, '--help'], { env: e });
    const get = (e = env) => timeCommand(process.execPath, [BIN, 'get', id], { cwd: workDir, env: e });

    // Warm the file cache and the platform's connections.
    for (let i = 0; i < 3; i++) await Promise.all([node(), help(), get()]);

    const samples = { node: [] as number[], help: [] as number[], get: [] as number[] };
    for (let i = 0; i < options.samples; i++) {
      samples.node.push(await node());
      samples.help.push(await help());
      samples.get.push(await get());
    }
    const source = { help: [] as number[], get: [] as number[], npxHelp: [] as number[] };
    for (let i = 0; i < options.sourceSamples; i++) {
      source.help.push(await help(fromSource));
      source.get.push(await get(fromSource));
      source.npxHelp.push(await timeCommand('npx', ['--no-install', 'runplane', '--help'], { env }));
    }
    const node50 = summarize(samples.node).p50;
    const result = {
      bundledSources: manifest.sources.length,
      nodeBareMs: summarize(samples.node),
      helpMs: summarize(samples.help),
      getMs: summarize(samples.get),
      helpRatio: ratio(summarize(samples.help).p50, node50),
      getRatio: ratio(summarize(samples.get).p50, node50),
      targets: { helpRatio: 2, getRatio: 3 },
      fromSourceViaTsx: {
        helpMs: summarize(source.help),
        getMs: summarize(source.get),
        helpRatio: ratio(summarize(source.help).p50, node50),
        getRatio: ratio(summarize(source.get).p50, node50),
      },
      npxHelpMs: summarize(source.npxHelp),
      npxHelpRatio: ratio(summarize(source.npxHelp).p50, node50),
    };
    process.stderr.write(
      `bench: cli startup: --help ${result.helpRatio}× node -e 0 (target ≤ 2), get ${result.getRatio}× (target ≤ 3); ` +
        `from sources via tsx ${result.fromSourceViaTsx.helpRatio}× / ${result.fromSourceViaTsx.getRatio}×; npx --help ${result.npxHelpRatio}×\n`,
    );
    return result;
  } finally {
    await platform.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}
