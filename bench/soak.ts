import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { runtimeConfigToEnv } from '../core/config.ts';
import { isTerminal } from '../core/jobs/job.ts';
import { type JobView } from '../core/jobs/job-view.ts';
import { queueDefinition } from '../core/resources.ts';
import { startLocalPlatform } from '../local/platform.ts';
import { summarize } from './stats.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SoakOptions {
  readonly jobs: number;
  readonly workers: number;
  readonly leaseSeconds: number;
  readonly killEveryMs: [number, number];
  readonly timeoutMs: number;
}

/**
 * Soak: `jobs` jobs across `workers` worker processes while a random worker is SIGKILLed every few
 * seconds and restarted. Reports jobs lost, jobs with more than one terminal transition, attempts
 * per job, and how long after a kill the killed worker's jobs were running again elsewhere.
 */
export async function benchSoak(options: SoakOptions) {
  const platform = await startLocalPlatform({
    inMemory: true,
    port: 0,
    workerPools: [],
    dataDir: `/tmp/runplane-soak-${randomUUID().slice(0, 8)}`,
    queues: [queueDefinition('default', { visibilityTimeoutSeconds: options.leaseSeconds, maxReceiveCount: 10 })],
    maintenanceIntervalSeconds: 2,
    sweepOptions: { dispatchGraceSeconds: 5, leaseGraceSeconds: options.leaseSeconds * 2 },
    log: () => undefined,
  });
  const env = { ...process.env, ...runtimeConfigToEnv(platform.config), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const procs = new Map<number, ChildProcess>();
  const kills: { pid: number; at: number }[] = [];
  const startWorker = () => {
    const child = spawn(process.execPath, ['bin/runplane.js', 'worker', '--queue', 'default', '--concurrency', '4', '--drain-seconds', '0'], {
      env,
      stdio: 'ignore',
      detached: true, // its own group, so a kill takes its job processes too, like a container dying
    });
    procs.set(child.pid!, child);
  };
  for (let i = 0; i < options.workers; i++) startWorker();

  const ids: string[] = [];
  const t0 = Date.now();
  let killing = true;
  const killer = (async () => {
    while (killing) {
      const [lo, hi] = options.killEveryMs;
      await sleep(lo + Math.random() * (hi - lo));
      if (!killing) break;
      const pids = [...procs.keys()];
      const pid = pids[Math.floor(Math.random() * pids.length)]!;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
      procs.delete(pid);
      kills.push({ pid, at: Date.now() });
      setTimeout(startWorker, 1_000);
    }
  })();
  try {
    for (let i = 0; i < options.jobs; i++) {
      const res = await fetch(`${platform.url}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `soak-${i}`, authorization: `Bearer ${platform.adminKey}` },
        body: JSON.stringify({
          command: ['sh', '-c', `sleep ${1 + (i % 3)}.${i % 10}; echo job ${i} done`],
          maxAttempts: 10,
          labels: { soak: 'true' },
        }),
      });
      if (res.status !== 201) throw new Error(`submit ${i} answered ${res.status}`);
      ids.push(((await res.json()) as { id: string }).id);
    }

    const pending = new Set(ids);
    let done = false;
    while (!done && Date.now() - t0 < options.timeoutMs) {
      await sleep(1_000);
      for (const id of [...pending]) if (isTerminal((await getJob(platform.url, platform.adminKey, id)).state)) pending.delete(id);
      done = pending.size === 0;
    }
    const elapsedSeconds = Math.round((Date.now() - t0) / 100) / 10;
    killing = false;
    await killer;

    const jobs = await Promise.all(ids.map((id) => getJob(platform.url, platform.adminKey, id)));
    const lost = jobs.filter((j) => !isTerminal(j.state)).length;
    const doubleTerminal = jobs.filter((j) => j.history.filter((h) => isTerminal(h.to)).length > 1).length;
    const attempts = jobs.map((j) => j.attempt);
    const byState: Record<string, number> = {};
    for (const j of jobs) byState[j.state] = (byState[j.state] ?? 0) + 1;

    // Output intact: each succeeded job's last attempt printed exactly its line.
    let wrongOutput = 0;
    for (const [i, j] of jobs.entries()) {
      if (j.state !== 'SUCCEEDED') continue;
      const text = await (await fetch(`${platform.url}/v1/jobs/${j.id}/logs?attempt=${j.attempt}`, { headers: { authorization: `Bearer ${platform.adminKey}` } })).text();
      if (text !== `job ${i} done\n`) wrongOutput++;
    }

    // Recovery, for each attempt that was running on a killed worker: kill → attempt declared lost
    // and the job queued again (the platform's part), and kill → next attempt running (which also
    // includes waiting behind the backlog for a free slot).
    const recovered: number[] = [];
    const restarted: number[] = [];
    for (const j of jobs) {
      for (const [n, a] of j.attempts.entries()) {
        const pid = Number(/-(\d+)-[a-z0-9]+$/.exec(a.workerId)?.[1]);
        const kill = kills.find((k) => k.pid === pid);
        if (!kill || !/lost/.test(a.reason ?? '') || !a.finishedAt) continue;
        recovered.push(new Date(a.finishedAt).getTime() - kill.at);
        const next = j.attempts[n + 1];
        if (next) restarted.push(new Date(next.startedAt).getTime() - kill.at);
      }
    }
    return {
      jobs: options.jobs,
      workerProcesses: options.workers,
      leaseSeconds: options.leaseSeconds,
      kills: kills.length,
      elapsedSeconds,
      byState,
      jobsLost: lost,
      jobsWithTwoTerminalTransitions: doubleTerminal,
      jobsWithWrongOutput: wrongOutput,
      attemptsPerJob: { mean: summarize(attempts).mean, max: Math.max(...attempts), retried: attempts.filter((a) => a > 1).length },
      killToRequeuedMs: summarize(recovered),
      killToNextAttemptRunningMs: summarize(restarted),
      target: 'jobsLost = 0, jobsWithTwoTerminalTransitions = 0',
    };
  } finally {
    killing = false;
    for (const pid of procs.keys()) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await platform.stop();
  }
}

async function getJob(url: string, token: string, id: string): Promise<JobView> {
  return (await (await fetch(`${url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as JobView;
}
