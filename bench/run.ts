/**
 * `npm run bench`: prints figures and writes them to bench/results/<time>.json (and latest.json).
 * Every figure is compared with a baseline measured in the same run, because these machines are
 * noisy: ratios and differences are what to read, not absolute milliseconds.
 * Sections: BENCH_ONLY=submit,rss,... runs a subset: a section named exactly so, else every section
 * whose name contains it.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { benchSubmitAndDispatch } from './dispatch.ts';
import { benchWorkerRss } from './worker-rss.ts';
import { benchSoak } from './soak.ts';
import { benchLambdas } from './lambdas.ts';
import { benchAudit } from './audit.ts';
import { benchCost } from './cost.ts';
import { benchCliStartup } from './cli-startup.ts';
import { benchWorkInOut } from './work-in-out.ts';
import { benchIsolation } from './isolation.ts';
import { benchOutputCost } from './output-cost.ts';
import { benchDependencies } from './dependencies.ts';
import { benchScheduling } from './scheduling.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

type Section = { name: string; run: () => Promise<unknown> };

const sections: Section[] = [
  { name: 'submitAndDispatch', run: () => benchSubmitAndDispatch({ submits: 300, dispatches: 200 }) },
  { name: 'dependencies', run: () => benchDependencies({ pairs: 30 }) },
  { name: 'scheduling', run: () => benchScheduling({ decisions: 5_000, dispatches: 100, backlog: 10_000, groups: 20, passes: 20 }) },
  // 20 real one-minute jobs arriving 250 ms apart: about 75 s of wall time, mostly the jobs sleeping.
  { name: 'cost', run: () => benchCost({ jobs: 20, jobSeconds: 60, arrivalMs: 250 }) },
  { name: 'workerRss', run: () => benchWorkerRss({ megabytes: 100 }) },
  { name: 'isolation', run: () => benchIsolation({ runs: 30 }) },
  { name: 'outputCost', run: () => benchOutputCost({ megabytes: 100, rounds: 7, workingRounds: 5, workPerMiB: 2_500_000 }) },
  { name: 'lambdas', run: () => benchLambdas({ coldStarts: 5 }) },
  { name: 'cliStartup', run: () => benchCliStartup({ samples: 30, sourceSamples: 5 }) },
  { name: 'audit', run: () => benchAudit({ writers: [1, 8, 32], seconds: 5, shards: 64, verifyEntries: 50_000 }) },
  { name: 'workInOut', run: () => benchWorkInOut({ workdirMiB: 50, artifactMiB: 200 }) },
  {
    name: 'soak',
    run: () => benchSoak({ jobs: 300, workers: 3, leaseSeconds: 5, killEveryMs: [3_000, 6_000], timeoutMs: 300_000 }),
  },
];

const requested = process.env.BENCH_ONLY?.split(',').filter(Boolean) ?? [];
const only = requested.length > 0 ? requested : undefined;
const results: Record<string, unknown> = {
  startedAt: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
};
/** A requested name picks the section of exactly that name, or else every section whose name contains it (`cost` is not `outputCost`). */
const picks = (name: string) =>
  only?.some((o) => {
    const wanted = o.toLowerCase();
    const exact = sections.some((s) => s.name.toLowerCase() === wanted);
    return exact ? name.toLowerCase() === wanted : name.toLowerCase().includes(wanted);
  }) ?? true;
for (const section of sections) {
  if (!picks(section.name)) continue;
  process.stderr.write(`bench: ${section.name}...\n`);
  const t = performance.now();
  try {
    results[section.name] = await section.run();
  } catch (err) {
    results[section.name] = { error: String(err) };
  }
  process.stderr.write(`bench: ${section.name} done in ${Math.round((performance.now() - t) / 1000)} s\n`);
  console.log(JSON.stringify({ [section.name]: results[section.name] }, null, 2));
}
results.finishedAt = new Date().toISOString();
await mkdir('bench/results', { recursive: true });
const file = `bench/results/${(results.startedAt as string).replace(/[:.]/g, '-')}.json`;
await writeFile(file, JSON.stringify(results, null, 2) + '\n');
// A partial run (BENCH_ONLY) updates its sections of latest.json and keeps the others.
const previous = only ? await readFile('bench/results/latest.json', 'utf8').then((t) => JSON.parse(t) as Record<string, unknown>, () => ({})) : {};
await writeFile('bench/results/latest.json', JSON.stringify({ ...previous, ...results }, null, 2) + '\n');
console.log(`results written to ${file}`);
