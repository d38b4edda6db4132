import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CALLER, type Caller } from '../../core/auth/caller.ts';
import { JobNotFoundError } from '../../core/errors.ts';
import { DynamoDbJobStore } from '../../core/jobs/dynamodb-store.ts';
import { DEPENDENCY_NEVER_SATISFIED } from '../../core/jobs/dependencies.ts';
import { DependencyRelease } from '../../core/jobs/dependency-release.ts';
import { isTerminal, type Job } from '../../core/jobs/job.ts';
import { JobService } from '../../core/jobs/job-service.ts';
import type { JobStore } from '../../core/jobs/store.ts';
import { sweep } from '../../core/maintenance/maintenance.ts';
import type { JobQueue } from '../../core/queue/job-queue.ts';
import { Worker } from '../../core/worker/worker.ts';
import { JOBS_TABLE, tableName } from '../../core/resources.ts';
import { createTestEnvironment, type TestEnvironment } from '../support/emulators.ts';
import { FAST_WORKER_OPTIONS, platformParts, waitForJob } from '../support/platform-parts.ts';

const succeed = ['node', '-e', 'setTimeout(() => process.exit(0), 300)'];
const fail = ['node', '-e', 'setTimeout(() => process.exit(1), 300)'];
const ML: Caller = { subject: 'mia', role: 'member', groups: ['ml'] };

describe('dependencies between jobs, on DynamoDB Local and fauxqs with local workers', () => {
  let env: TestEnvironment;
  let parts: ReturnType<typeof platformParts>;
  let worker: Worker | undefined;

  beforeAll(async () => {
    env = await createTestEnvironment();
    parts = platformParts(env);
  });
  afterEach(async () => {
    await worker?.stop({ drainSeconds: 0 });
    worker = undefined;
  });
  afterAll(async () => env.cleanup());

  const startWorker = () => {
    worker = new Worker({ ...parts, ...FAST_WORKER_OPTIONS });
    worker.start();
  };
  const submit = async (command: string[], dependsOn: { job: string; type: string }[] = [], caller: Caller = LOCAL_CALLER) =>
    (await parts.service.submit({ command, dependsOn }, caller)).job;
  const finished = (id: string) => waitForJob(parts.store, id, (j) => isTerminal(j.state), 30_000);
  const auditActions = async (jobId: string) => {
    const actions: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await parts.store.audit.list({ limit: 100, ...(after ? { after } : {}) });
      actions.push(...page.entries.filter((e) => e.target === `job:${jobId}`).map((e) => e.action));
      if (!page.hasMore) return actions;
      after = page.next;
    }
  };
  /** A QUEUED job driven by hand: claimed under our own lease, so the test decides when it ends. */
  const runningByHand = async (store: JobStore = parts.store) => {
    const job = await submit(['true']);
    const leaseId = `lease-${job.id}`;
    await store.claimAttempt({ jobId: job.id, group: job.group, workerId: 'hand', leaseId, leaseExpiresAt: Date.now() + 600_000, expectedAttempt: 0, now: new Date() });
    const finish = (to: 'SUCCEEDED' | 'FAILED', via: JobStore = store) =>
      via.finishAttempt({ jobId: job.id, group: job.group, leaseId, attempt: 1, to, exitCode: to === 'SUCCEEDED' ? 0 : 1, reason: 'by hand', now: new Date() });
    return { job, finish };
  };

  it('afterok: held (not runnable) until its dependency succeeds, then released by the finisher and run', async () => {
    const a = await submit(succeed);
    const b = await submit(['true'], [{ job: a.id, type: 'afterok' }]);
    expect(b).toMatchObject({ state: 'QUEUED', hold: { code: 'Dependency', message: `waiting for afterok:${a.id} (QUEUED)` } });
    // Not runnable: on no list that leads to a claim, with no message of its own.
    expect((await parts.store.listUndispatchedJobs('default', 100)).items.map((j) => j.id)).not.toContain(b.id);
    expect([...(await parts.store.listPendingHeads('default', 100)).values()].flat().map((j) => j.id)).not.toContain(b.id);
    expect((await parts.store.listHeldJobs('default', 100)).items.map((j) => j.id)).toEqual([b.id]);
    expect((await parts.service.describe(b.id, LOCAL_CALLER)).waiting).toMatchObject({ code: 'Dependency', message: `waiting for afterok:${a.id} (QUEUED)` });

    startWorker();
    expect((await finished(a.id)).state).toBe('SUCCEEDED');
    const done = await finished(b.id);
    expect(done).toMatchObject({ state: 'SUCCEEDED', hold: null, dependsOn: [{ job: a.id, type: 'afterok' }] });
    // No sweep runs in this test: the worker that finished A released B.
    expect(done.history.map((h) => [h.to, h.reason])).toContainEqual(['QUEUED', 'dependencies satisfied']);
    expect(await auditActions(b.id)).toEqual(['job.submit', 'job.release-hold', 'job.claim', 'job.finish']);
    expect((await parts.store.listHeldJobs('default', 100)).items).toEqual([]);
  });

  it('afterok on a job that fails: FAILED with DEPENDENCY_NEVER_SATISFIED naming it, and its own dependents after it', async () => {
    const a = await submit(fail);
    const b = await submit(['true'], [{ job: a.id, type: 'afterok' }]);
    const c = await submit(['true'], [{ job: b.id, type: 'afterany' }]);
    const d = await submit(['true'], [{ job: b.id, type: 'afterok' }]);
    startWorker();
    expect((await finished(a.id)).state).toBe('FAILED');
    expect(await finished(b.id)).toMatchObject({
      state: 'FAILED',
      attempt: 0,
      reasonCode: DEPENDENCY_NEVER_SATISFIED,
      reason: `dependency afterok:${a.id} can never be satisfied: it ended FAILED`,
      hold: null,
    });
    expect(await auditActions(b.id)).toEqual(['job.submit', 'job.dependency-failed']);
    // B's own final state settles its dependents: afterany runs, afterok fails in turn.
    expect((await finished(c.id)).state).toBe('SUCCEEDED');
    expect(await finished(d.id)).toMatchObject({ state: 'FAILED', reasonCode: DEPENDENCY_NEVER_SATISFIED });
  });

  it('afterany runs after a failure; afternotok runs after a failure and fails after a success', async () => {
    const failing = await submit(fail);
    const succeeding = await submit(succeed);
    const any = await submit(['true'], [{ job: failing.id, type: 'afterany' }]);
    const notOkRuns = await submit(['true'], [{ job: failing.id, type: 'afternotok' }]);
    const notOkFails = await submit(['true'], [{ job: succeeding.id, type: 'afternotok' }]);
    const both = await submit(['true'], [{ job: failing.id, type: 'afternotok' }, { job: succeeding.id, type: 'afterok' }]);
    expect(both.hold?.message).toBe(`waiting for afternotok:${failing.id} (QUEUED), afterok:${succeeding.id} (QUEUED)`);
    startWorker();
    expect((await finished(any.id)).state).toBe('SUCCEEDED');
    expect((await finished(notOkRuns.id)).state).toBe('SUCCEEDED');
    expect(await finished(notOkFails.id)).toMatchObject({
      state: 'FAILED',
      reasonCode: DEPENDENCY_NEVER_SATISFIED,
      reason: `dependency afternotok:${succeeding.id} can never be satisfied: it ended SUCCEEDED`,
    });
    expect((await finished(both.id)).state).toBe('SUCCEEDED');
  });

  it('aftercorr on a job that is not an array child waits for it to succeed (afterok)', async () => {
    const a = await submit(succeed);
    const b = await submit(['true'], [{ job: a.id, type: 'aftercorr' }]);
    expect(b.hold).not.toBeNull();
    startWorker();
    expect((await finished(b.id)).state).toBe('SUCCEEDED');
  });

  it('a dependency already satisfied at submit: runnable at once; never satisfiable: FAILED in the submit', async () => {
    const { job: a, finish } = await runningByHand();
    await finish('SUCCEEDED');
    const ok = await submit(['true'], [{ job: a.id, type: 'afterok' }]);
    expect(ok).toMatchObject({ state: 'QUEUED', hold: null });
    expect((await parts.store.listUndispatchedJobs('default', 100)).items.map((j) => j.id)).toContain(ok.id);
    const never = await submit(['true'], [{ job: a.id, type: 'afternotok' }]);
    expect(never).toMatchObject({ state: 'FAILED', reasonCode: DEPENDENCY_NEVER_SATISFIED });
  });

  it('names what is left to wait for as dependencies finish, and is released by the last one', async () => {
    const first = await runningByHand();
    const second = await runningByHand();
    const c = await submit(['true'], [{ job: first.job.id, type: 'afterok' }, { job: second.job.id, type: 'afterany' }]);
    expect(c.hold?.message).toBe(`waiting for afterok:${first.job.id} (RUNNING), afterany:${second.job.id} (RUNNING)`);
    await first.finish('SUCCEEDED');
    expect((await parts.store.getJob(c.id))?.hold).toEqual({ code: 'Dependency', message: `waiting for afterany:${second.job.id} (RUNNING)` });
    await second.finish('FAILED');
    expect(await parts.store.getJob(c.id)).toMatchObject({ state: 'QUEUED', hold: null });
    expect(await auditActions(c.id)).toEqual(['job.submit', 'job.release-hold']);
  });

  it('a cancel of a queued dependency releases afternotok dependents and fails afterok ones', async () => {
    const a = await submit(['true']);
    const notOk = await submit(['true'], [{ job: a.id, type: 'afternotok' }]);
    const ok = await submit(['true'], [{ job: a.id, type: 'afterok' }]);
    await parts.service.cancel(a.id, LOCAL_CALLER);
    const released = (await parts.store.getJob(notOk.id))!;
    expect(released).toMatchObject({ state: 'QUEUED', hold: null });
    expect((await parts.store.listUndispatchedJobs('default', 100)).items.map((j) => j.id)).toContain(notOk.id);
    expect(await parts.store.getJob(ok.id)).toMatchObject({
      state: 'FAILED',
      reason: `dependency afterok:${a.id} can never be satisfied: it ended CANCELLED`,
    });
  });

  it("refuses a dependency on another group's job exactly as one that does not exist (404 NOT_FOUND)", async () => {
    const theirs = await submit(['true']);
    const refusal = await parts.service.submit({ command: ['true'], dependsOn: [{ job: theirs.id, type: 'afterok' }] }, ML).catch((e: unknown) => e);
    const asGet = await parts.service.get(theirs.id, ML).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(JobNotFoundError);
    expect(asGet).toBeInstanceOf(JobNotFoundError);
    const shape = (e: unknown) => ({ code: (e as JobNotFoundError).code, message: (e as Error).message, details: (e as JobNotFoundError).details });
    expect(shape(refusal)).toEqual(shape(asGet));
    expect(shape(refusal)).toEqual({ code: 'NOT_FOUND', message: `job ${theirs.id} not found`, details: { jobId: theirs.id } });
    // Nothing was created in group ml.
    expect((await parts.service.list({}, ML)).items).toEqual([]);
  });

  it('a dependent is released exactly once when the finisher, two settlers and the sweep race', async () => {
    // A finisher that stores the final state and dies before the release: a store without dispatch.
    const bare = new DynamoDbJobStore({ client: env.documentClient, tableName: tableName(env.prefix, JOBS_TABLE), audit: parts.store.audit });
    const { job: a, finish } = await runningByHand();
    const b = await submit(['true'], [{ job: a.id, type: 'afterok' }]);
    await finish('SUCCEEDED', bare);
    expect((await parts.store.getJob(b.id))?.hold).not.toBeNull();

    let dispatched = 0;
    const count = async (job: Job) => {
      dispatched++;
      await parts.queue.enqueue(job.queue, { jobId: job.id });
    };
    const countingQueue: JobQueue = Object.assign(Object.create(parts.queue) as JobQueue, {
      enqueue: async (pool: string, message: { jobId: string }) => {
        dispatched++;
        await parts.queue.enqueue(pool, message);
      },
    });
    const jobs = new JobService({ store: parts.store, events: parts.events, queue: countingQueue, queues: parts.queues });
    const held = (await parts.store.getJob(b.id))!;
    // Two settlers hold the same (stale) reading of B as held: only the hold condition parts them.
    const outcomes = await Promise.all([
      new DependencyRelease({ store: parts.store, dispatch: count }).dependencyFinished(a),
      new DependencyRelease({ store: parts.store, dispatch: count }).settle(held).then((r) => r.outcome),
      new DependencyRelease({ store: parts.store, dispatch: count }).settle(held).then((r) => r.outcome),
      // Only the held list matters here: other tests' jobs are not re-sent (grace of an hour).
      sweep({ store: parts.store, jobs, queue: countingQueue }, ['default'], { dispatchGraceSeconds: 3600, leaseGraceSeconds: 3600 }),
    ]);
    expect(dispatched).toBe(1);
    expect((await auditActions(b.id)).filter((a) => a === 'job.release-hold')).toHaveLength(1);
    const after = (await parts.store.getJob(b.id))!;
    expect(after.history.filter((h) => h.reason === 'dependencies satisfied')).toHaveLength(1);
    expect(after).toMatchObject({ state: 'QUEUED', hold: null });
    // The second settler and the sweep together released it at most once (the finisher may have).
    expect(Number(outcomes[1] === 'released') + Number(outcomes[2] === 'released') + outcomes[3].settled.length).toBeLessThanOrEqual(1);
  });

  it('the sweep releases a held job whose release was missed', async () => {
    const bare = new DynamoDbJobStore({ client: env.documentClient, tableName: tableName(env.prefix, JOBS_TABLE), audit: parts.store.audit });
    const { job: a, finish } = await runningByHand();
    const b = await submit(['true'], [{ job: a.id, type: 'afterany' }]);
    await finish('FAILED', bare);
    const report = await sweep({ store: parts.store, jobs: parts.service, queue: parts.queue }, ['default']);
    expect(report.settled).toEqual([{ jobId: b.id, outcome: 'released' }]);
    expect((await parts.store.getJob(b.id))?.hold).toBeNull();
    expect((await sweep({ store: parts.store, jobs: parts.service, queue: parts.queue }, ['default'])).settled).toEqual([]);
  });

  it("a dependency that finishes between the submit's check and its create still releases the dependent", async () => {
    const { job: a, finish } = await runningByHand();
    // The store the submit uses finishes A just before creating B: A's finisher looks for
    // dependents before B's edges exist, and finds none.
    const racing: JobStore = Object.assign(Object.create(parts.store) as JobStore, {
      createJob: async (job: Job, guard?: Parameters<JobStore['createJob']>[1]) => {
        await finish('SUCCEEDED');
        return parts.store.createJob(job, guard);
      },
    });
    const service = new JobService({ store: racing, events: parts.events, queue: parts.queue, queues: parts.queues });
    const { job: b } = await service.submit({ command: ['true'], dependsOn: [{ job: a.id, type: 'afterok' }] }, LOCAL_CALLER);
    expect((await parts.store.getJob(a.id))?.state).toBe('SUCCEEDED');
    expect(b).toMatchObject({ state: 'QUEUED', hold: null });
    const stored = (await parts.store.getJob(b.id))!;
    expect(stored.history.map((h) => h.reason)).toContain('dependencies satisfied');
    expect((await parts.store.listUndispatchedJobs('default', 100)).items.map((j) => j.id)).toContain(b.id);
  });
});
