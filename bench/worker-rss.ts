import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { build } from 'esbuild';
import { runtimeConfigToEnv } from '../core/config.ts';
import { startLocalPlatform } from '../local/platform.ts';
import { workerNodeOptions } from '../core/worker/memory.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function memoryOf(pid: number): { rssKiB: number; peakKiB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(/^(\w+):\s+(\d+)/m.test(status) ? (new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 'NaN') : 'NaN');
    return { rssKiB: field('VmRSS'), peakKiB: field('VmHWM') };
  } catch {
    return undefined;
  }
}

/**
 * Peak RSS of the production worker bundle (esbuild, as in the container) while one job streams
 * `megabytes` of output as fast as it can; also checks every byte was stored.
 */
export async function benchWorkerRss(options: { megabytes: number }) {
  const bundle = `/tmp/runplane-worker-${randomUUID().slice(0, 8)}.mjs`;
  await build({
    entryPoints: ['worker-image/main.ts'],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outfile: bundle,
    minify: true,
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'error',
  });
  const platform = await startLocalPlatform({
    inMemory: true,
    port: 0,
    workerPools: [],
    dataDir: `/tmp/runplane-bench-${randomUUID().slice(0, 8)}`,
    log: () => undefined,
  });
  // The heap limits a one-job worker runs with in its container (lib/worker-pool.ts).
  const nodeFlags = (process.env.BENCH_WORKER_NODE_FLAGS ?? workerNodeOptions(1)).split(' ').filter(Boolean);
  const worker = spawn(process.execPath, [...nodeFlags, bundle], {
    env: {
      ...process.env,
      ...runtimeConfigToEnv(platform.config),
      RUNPLANE_WORKER_QUEUE: 'default',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await sleep(1_000);
    const idle = memoryOf(worker.pid!);
    const auth = { authorization: `Bearer ${platform.adminKey}` };
    const lineBytes = 1000;
    const lines = Math.round((options.megabytes * 1024 * 1024) / lineBytes);
    const script = `const s='x'.repeat(${lineBytes - 1})+'\\n'; let i=0; function w(){ while(i<${lines}){ i++; if(!process.stdout.write(s)) return process.stdout.once('drain', w); } } w();`;
    const res = await fetch(`${platform.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ command: ['node', '-e', script] }),
    });
    const { id } = (await res.json()) as { id: string };
    const t0 = performance.now();
    let peakRssKiB = 0;
    let state = 'QUEUED';
    while (state === 'QUEUED' || state === 'RUNNING') {
      const m = memoryOf(worker.pid!);
      if (m) peakRssKiB = Math.max(peakRssKiB, m.rssKiB, m.peakKiB);
      await sleep(50);
      state = ((await (await fetch(`${platform.url}/v1/jobs/${id}`, { headers: auth })).json()) as { state: string }).state;
    }
    const seconds = (performance.now() - t0) / 1000;
    let storedBytes = 0;
    let after = 0;
    for (;;) {
      const res = await fetch(`${platform.url}/v1/jobs/${id}/events?limit=100&after=${after}`, { headers: auth });
      if (res.status !== 200) throw new Error(`reading events answered ${res.status}: ${await res.text()}`);
      const page = (await res.json()) as { events: { kind: string; data?: string }[]; next: number; hasMore: boolean };
      for (const e of page.events) if (e.kind === 'output') storedBytes += Buffer.byteLength(e.data ?? '');
      after = page.next;
      if (!page.hasMore) break;
    }
    return {
      finalState: state,
      outputMiB: Math.round((lines * lineBytes) / 1024 / 1024),
      storedBytes,
      expectedBytes: lines * lineBytes,
      allOutputStored: storedBytes === lines * lineBytes,
      seconds: Math.round(seconds * 10) / 10,
      throughputMiBps: Math.round(((lines * lineBytes) / 1024 / 1024 / seconds) * 10) / 10,
      idleRssMiB: idle ? Math.round(idle.rssKiB / 1024) : null,
      peakRssMiB: Math.round(peakRssKiB / 1024),
      nodeFlags: nodeFlags.join(' '),
      target: 'peak RSS ≤ 100 MB',
    };
  } finally {
    worker.kill('SIGKILL');
    await platform.stop();
  }
}
