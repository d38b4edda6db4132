import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runtimeConfigToEnv } from '../core/config.ts';
import { bundleHandler } from '../lib/bundle-report.ts';
import { ROUTES } from '../lambdas/routes.ts';
import { startLocalPlatform } from '../local/platform.ts';
import { summarize } from './stats.ts';

const SDK_CLIENT = /node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//;

/** The SDK clients each handler may carry: anything else in its bundle is dead weight. */
const CLIENTS_USED: Record<string, readonly string[]> = {
  submitJob: ['client-dynamodb', 'client-sqs', 'client-ecs'],
  retryJob: ['client-dynamodb', 'client-sqs', 'client-ecs'],
  healthz: [],
  notFound: [],
};

function sampleEvent(routeKey: string, jobId: string, token: string) {
  const [method, path] = routeKey === '$default' ? ['GET', '/nowhere'] : (routeKey.split(' ') as [string, string]);
  const rawPath = path.replace('{id}', jobId);
  const body = method === 'POST' && path === '/v1/jobs' ? JSON.stringify({ command: ['true'] }) : undefined;
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', host: 'bench.local', authorization: `Bearer ${token}` },
    requestContext: { http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' }, requestId: randomUUID(), routeKey, stage: '$default' },
    pathParameters: path.includes('{id}') ? { id: jobId } : undefined,
    isBase64Encoded: false,
    ...(body ? { body } : {}),
  };
}

/**
 * Each Lambda handler bundled with the stack's esbuild options: minified size, the SDK clients it
 * carries, and cold init in a fresh Node process (import of the bundle + first handler call
 * against the local emulators), compared with a bare `node -e` start measured the same way.
 */
export async function benchLambdas(options: { coldStarts: number }) {
  const platform = await startLocalPlatform({
    inMemory: true,
    port: 0,
    workerPools: [],
    dataDir: join(tmpdir(), `runplane-bench-${randomUUID().slice(0, 8)}`),
    log: () => undefined,
  });
  const dir = join(tmpdir(), `runplane-bundles-${randomUUID().slice(0, 8)}`);
  await mkdir(dir, { recursive: true });
  try {
    const submitted = await fetch(`${platform.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${platform.adminKey}` },
      body: JSON.stringify({ command: ['true'] }),
    });
    const jobId = ((await submitted.json()) as { id: string }).id;
    const env = { ...process.env, ...runtimeConfigToEnv(platform.config), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

    const time = (script: string) =>
      new Promise<number>((resolve, reject) => {
        const t = performance.now();
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('exit', (code) => (code === 0 ? resolve(performance.now() - t) : reject(new Error(err.slice(-500)))));
      });
    const baseline: number[] = [];
    for (let i = 0; i < options.coldStarts; i++) baseline.push(await time('process.exit(0)'));

    const handlers: Record<string, unknown> = {};
    for (const route of ROUTES) {
      const bundle = await bundleHandler(route.entry);
      const file = join(dir, `${route.name}.mjs`);
      const { build } = await import('esbuild');
      const { HANDLER_BUNDLE } = await import('../lib/bundling.ts');
      await build({ ...HANDLER_BUNDLE, mainFields: [...HANDLER_BUNDLE.mainFields], external: [...HANDLER_BUNDLE.external], entryPoints: [route.entry], outfile: file, logLevel: 'silent' });
      const clients = [...new Set(Object.keys(bundle.metafile.inputs).map((p) => SDK_CLIENT.exec(p)?.[1]).filter(Boolean) as string[])].sort();
      const allowed = CLIENTS_USED[route.name] ?? ['client-dynamodb'];
      const event = JSON.stringify(sampleEvent(route.routeKey, jobId, platform.adminKey));
      const script =
        `const { handler } = await import(${JSON.stringify(file)});` +
        `const r = await handler(${event}, { awsRequestId: 'bench', getRemainingTimeInMillis: () => 30000 });` +
        `if (!r || r.statusCode >= 500) { console.error(JSON.stringify(r)); process.exit(1) } process.exit(0)`;
      const cold: number[] = [];
      for (let i = 0; i < options.coldStarts; i++) cold.push(await time(script));
      const coldSummary = summarize(cold);
      handlers[route.name] = {
        entry: route.entry,
        bytes: bundle.bytes,
        kib: Math.round(bundle.bytes / 102.4) / 10,
        underOneMB: bundle.bytes < 1_000_000,
        sdkClients: clients,
        unusedSdkClients: clients.filter((c) => !allowed.includes(c)),
        coldInitMs: coldSummary,
        coldInitOverBareNodeMs: Math.round((coldSummary.p50 - summarize(baseline).p50) * 10) / 10,
      };
    }
    return { bareNodeStartMs: summarize(baseline), handlers, target: 'each handler < 1 MB; no unused SDK client' };
  } finally {
    await rm(dir, { recursive: true, force: true });
    await platform.stop();
  }
}
