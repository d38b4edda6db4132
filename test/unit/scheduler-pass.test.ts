import { describe, expect, it } from 'vitest';
import type { PendingJobSummary } from '../../core/jobs/store.ts';
import type { WaitingBoard } from '../../core/jobs/waiting-reason.ts';
import { defaultGroupState } from '../../core/scheduling/group-states.ts';
import { Scheduler, type SchedulerDependencies } from '../../core/scheduling/scheduler.ts';
import type { WorkerRecord } from '../../core/workers/registry.ts';

/**
 * What a pass reads, on fakes that count the reads: on an idle pool the submit → start path is the
 * pass's reads, so a read that waits for another (a group's state after the heads) or a read of
 * what this scheduler just wrote (its waiting board) is latency every job pays.
 */
describe('a scheduling pass reads only what it must, all at once', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
  const worker: WorkerRecord = {
    workerId: 'w1', pool: 'default', hostname: 'h', pid: 1, concurrency: 4, gpus: [], runningJobs: [],
    startedAt: at(0).toISOString(), lastSeenAt: at(0).toISOString(), draining: false,
  };

  function fakes() {
    let pending = new Map<string, PendingJobSummary[]>();
    // Each group read, and whether the heads had been read when it was made (then it waited for them).
    const calls = { groupReads: [] as { names: string[]; afterHeads: boolean }[], boardReads: 0, boardWrites: 0, admitted: [] as string[] };
    let headsRead = false;
    let stored: WaitingBoard | undefined;
    const deps: SchedulerDependencies = {
      store: {
        listPendingHeads: async () => {
          headsRead = false;
          await new Promise((r) => setTimeout(r, 1));
          headsRead = true;
          return pending;
        },
        listHoldings: async () => ({ items: [], nextCursor: null }),
        admitJob: async (job) => {
          calls.admitted.push(job.id);
          return true;
        },
        unadmitJob: async () => true,
      },
      queue: { enqueue: async () => undefined },
      registry: { listWorkers: async () => [worker] },
      groups: {
        get: async (names) => {
          calls.groupReads.push({ names: [...names], afterHeads: headsRead });
          return new Map(names.map((n) => [n, defaultGroupState(n)]));
        },
      },
      boards: {
        read: async () => {
          calls.boardReads++;
          return stored;
        },
        write: async (_q, board) => {
          calls.boardWrites++;
          stored = board;
        },
      },
    };
    const job = (id: string, group: string): PendingJobSummary => ({ id, group, priority: 0, gpus: 0, attempt: 0, retryAt: null });
    return { deps, calls, setPending: (jobs: PendingJobSummary[]) => (pending = new Map(jobs.map((j) => [j.group, [j]]))), job };
  }

  // Break verified: remembering only the last pass's groups (a pass that found nothing pending forgets them).
  it('reads a group seen minutes ago with its other reads, not after the heads name it again', async () => {
    const { deps, calls, setPending, job } = fakes();
    let now = at(0);
    const scheduler = new Scheduler({ ...deps, clock: () => now });
    setPending([job('J1', 'vision')]);
    await scheduler.pass('default');
    expect(calls.groupReads).toEqual([{ names: ['vision'], afterHeads: true }]); // first sight: after the heads
    setPending([]);
    now = at(5);
    await scheduler.pass('default'); // the job started: nothing pending
    setPending([job('J2', 'vision')]);
    now = at(60);
    calls.groupReads.length = 0;
    const report = await scheduler.pass('default');
    expect(report.admitted).toEqual(['J2']);
    expect(calls.groupReads).toEqual([{ names: ['vision'], afterHeads: false }]); // one read, made with the others
    // Forgotten after ten minutes without pending work: read after the heads again.
    setPending([]);
    await scheduler.pass('default');
    now = at(60 + 11 * 60);
    setPending([job('J3', 'vision')]);
    calls.groupReads.length = 0;
    await scheduler.pass('default');
    expect(calls.groupReads).toEqual([{ names: ['vision'], afterHeads: true }]);
  });

  // Break verified: reading the board from the store on every pass.
  it('compares its waiting board with the one it wrote, reading the stored one only when that is old', async () => {
    const { deps, calls } = fakes();
    let now = at(0);
    const scheduler = new Scheduler({ ...deps, clock: () => now });
    await scheduler.pass('default');
    expect(calls).toMatchObject({ boardReads: 1, boardWrites: 1 });
    for (const s of [1, 2, 10]) {
      now = at(s);
      await scheduler.pass('default');
    }
    expect(calls).toMatchObject({ boardReads: 1, boardWrites: 1 }); // the same board: neither read nor rewritten
    now = at(25);
    await scheduler.pass('default'); // older than the refresh interval: read and rewritten
    expect(calls).toMatchObject({ boardReads: 2, boardWrites: 2 });
  });

  describe('admits and sends at once', () => {
    const pendingJob = { id: 'J1', group: 'vision', priority: 0, gpus: 0, attempt: 0, retryAt: null };
    function admitting(admit: () => Promise<boolean>, enqueue: () => Promise<void>) {
      const { deps } = fakes();
      const events: string[] = [];
      const scheduler = new Scheduler({
        ...deps,
        clock: () => at(0),
        store: {
          ...deps.store,
          listPendingHeads: async () => new Map([['vision', [pendingJob]]]),
          admitJob: async () => {
            events.push('admit:start');
            const ok = await admit();
            events.push('admit:end');
            return ok;
          },
          unadmitJob: async () => {
            events.push('unadmit');
            return true;
          },
        },
        queue: {
          enqueue: async () => {
            events.push('send:start');
            await enqueue();
            events.push('send:end');
          },
        },
      });
      return { scheduler, events };
    }
    const slow = <T>(value: T) => () => new Promise<T>((r) => setTimeout(() => r(value), 5));

    // Break verified: sending only after the admission resolved.
    it('sends the message without waiting for the admission write', async () => {
      const { scheduler, events } = admitting(slow(true), slow(undefined));
      expect((await scheduler.pass('default')).admitted).toEqual(['J1']);
      expect(events.slice(0, 2).sort()).toEqual(['admit:start', 'send:start']);
    });

    it('puts an admitted job whose message failed back on the pending list', async () => {
      const { scheduler, events } = admitting(slow(true), async () => {
        throw new Error('SQS unavailable');
      });
      expect((await scheduler.pass('default')).admitted).toEqual([]);
      expect(events).toContain('unadmit');
    });

    it('reports no admission when its condition failed or the write failed, and un-admits nothing', async () => {
      for (const admit of [slow(false), async () => Promise.reject(new Error('DynamoDB unavailable'))]) {
        const { scheduler, events } = admitting(admit, slow(undefined));
        expect((await scheduler.pass('default')).admitted).toEqual([]);
        expect(events).not.toContain('unadmit');
      }
    });
  });
});
