import { describe, expect, it } from 'vitest';
import { ApiError, ConnectionError, type ApiJob } from '../../cli/api-client.ts';
import { exitCodeForJob } from '../../cli/exit-codes.ts';
import {
  formatDuration,
  formatFinalStatus,
  formatJobDetails,
  formatJobTable,
  formatState,
  formatTimestamp,
  quoteArgv,
} from '../../cli/format.ts';
import { formatError } from '../../cli/format-error.ts';
import { TERMINAL_JOB_STATES } from '../../cli/terminal-states.ts';
import { JOB_STATES, TERMINAL_STATES, isTerminal, type JobState } from '../../core/jobs/job.ts';
import { jobView } from '../../core/jobs/job-view.ts';
import { makeJob } from '../support/jobs.ts';

const apiJob = (overrides: Parameters<typeof makeJob>[0] = {}, extra: Partial<ApiJob> = {}): ApiJob => ({
  ...jobView(makeJob(overrides)),
  ...extra,
});

describe("the CLI's terminal states", () => {
  it("are the core's (repeated so that the CLI does not load the job schemas)", () => {
    expect([...TERMINAL_JOB_STATES].sort()).toEqual([...TERMINAL_STATES].sort());
    for (const state of JOB_STATES) expect(TERMINAL_JOB_STATES.includes(state)).toBe(isTerminal(state));
  });
});

describe('formatJobTable', () => {
  it('aligns ID, STATE, QUEUE, NAME, CREATED, EXIT and WAITING, with dashes for what is missing', () => {
    const jobs = [
      apiJob({
        id: '01JB',
        state: 'FAILED',
        queue: 'gpu-a10g',
        name: 'train',
        exitCode: 3,
        createdAt: '2026-01-02T03:04:05.678Z',
      }),
      apiJob(
        { id: '01JA', state: 'QUEUED', queue: 'default', createdAt: '2026-01-01T00:00:00.000Z' },
        { waiting: { code: 'Resources', message: 'waiting for a free slot', since: '2026-01-01T00:00:00.000Z', position: 2 } },
      ),
    ];
    expect(formatJobTable(jobs)).toBe(
      [
        'ID    STATE   QUEUE     NAME   CREATED               EXIT  WAITING',
        '01JB  FAILED  gpu-a10g  train  2026-01-02T03:04:05Z  3     -',
        '01JA  QUEUED  default   -      2026-01-01T00:00:00Z  -     Resources #2',
        '',
      ].join('\n'),
    );
  });

  it('shortens long names so the table stays readable', () => {
    const line = formatJobTable([apiJob({ name: 'x'.repeat(100) })]).split('\n')[1] ?? '';
    expect(line).toContain(`${'x'.repeat(39)}…`);
    expect(line).not.toContain('x'.repeat(41));
  });
});

describe('formatJobDetails', () => {
  const job = apiJob({
    id: '01JOB',
    name: 'sweep-3',
    state: 'FAILED',
    owner: 'alice',
    group: 'vision',
    queue: 'gpu',
    command: ['python', 'train.py', '--note', "it's late"],
    env: { WANDB_API_KEY: 'secret-value', SEED: '3' },
    labels: { team: 'ml' },
    resources: { gpus: 2, cpu: 8, memoryMiB: 32768 },
    timeoutSeconds: 3600,
    attempt: 2,
    maxAttempts: 3,
    exitCode: 3,
    reason: 'exited with code 3',
    startedAt: '2026-01-01T00:00:05.000Z',
    finishedAt: '2026-01-01T00:01:07.000Z',
    attempts: [
      {
        attempt: 1,
        workerId: 'w-a',
        startedAt: '2026-01-01T00:00:01.000Z',
        finishedAt: '2026-01-01T00:00:03.000Z',
        exitCode: null,
        reason: 'worker lost',
      },
      {
        attempt: 2,
        workerId: 'w-b',
        startedAt: '2026-01-01T00:00:05.000Z',
        finishedAt: '2026-01-01T00:01:07.000Z',
        exitCode: 3,
        reason: 'exited with code 3',
      },
    ],
  });
  const text = formatJobDetails(job);

  it.each([
    ['ID:', '01JOB'],
    ['Name:', 'sweep-3'],
    ['State:', 'FAILED (exited with code 3)'],
    ['Owner:', 'alice (group vision)'],
    ['Command:', `python train.py --note 'it'\\''s late'`],
    ['Labels:', 'team=ml'],
    ['Resources:', 'gpus=2 cpu=8 memory=32768MiB'],
    ['Timeout:', '1h'],
    ['Attempt:', '2 of 3'],
    ['Exit code:', '3'],
    ['Started:', '2026-01-01T00:00:05Z'],
    ['Finished:', '2026-01-01T00:01:07Z'],
    ['Duration:', '1m 2s'],
  ])('shows %s %s', (label, value) => {
    expect(text).toMatch(
      new RegExp(
        `^${label.replace(/[()]/g, '\\$&')}\\s+${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
        'm',
      ),
    );
  });

  it('names env variables but hides their values', () => {
    expect(text).toContain('WANDB_API_KEY SEED');
    expect(text).not.toContain('secret-value');
  });

  it('lists attempts and history', () => {
    expect(text).toMatch(/^ {2}1\s+w-a\s+2026-01-01T00:00:01Z\s+2026-01-01T00:00:03Z\s+-\s+worker lost$/m);
    expect(text).toMatch(/^ {2}2\s+w-b\s+.*\s+3\s+exited with code 3$/m);
    expect(text).toMatch(/^ {2}2026-01-01T00:00:00Z\s+-\s+QUEUED\s+submitted by tester$/m);
  });

  it('shows how long a running job has been running', () => {
    const running = apiJob({ state: 'RUNNING', startedAt: '2026-01-01T00:00:00.000Z' });
    expect(formatJobDetails(running, new Date('2026-01-01T02:00:30.000Z'))).toMatch(
      /^Running for:\s+2h 30s$/m,
    );
  });
});

describe('formatState', () => {
  it.each<[string, ApiJob, string]>([
    ['plain', apiJob({ state: 'RUNNING' }), 'RUNNING'],
    [
      'with a reason',
      apiJob({ state: 'TIMED_OUT', reason: 'timed out after 60 s' }),
      'TIMED_OUT (timed out after 60 s)',
    ],
    [
      'waiting',
      apiJob({ state: 'QUEUED' }, { waiting: { code: 'NoCapacity', message: 'no GPU worker on queue gpu', since: '2026-01-01T00:00:00.000Z', position: null } }),
      'QUEUED (waiting: NoCapacity since 2026-01-01T00:00:00Z: no GPU worker on queue gpu)',
    ],
    [
      'waiting in line',
      apiJob({ state: 'QUEUED' }, { waiting: { code: 'Priority', message: 'behind 2 job(s)', since: '2026-01-01T00:00:00.000Z', position: 3 } }),
      'QUEUED (waiting: Priority since 2026-01-01T00:00:00Z, #3 in line: behind 2 job(s))',
    ],
    ['cancel pending', apiJob({ state: 'RUNNING', cancelRequested: true }), 'RUNNING (cancel requested)'],
    [
      'cancel done',
      apiJob({ state: 'CANCELLED', cancelRequested: true, reason: 'cancelled by bob' }),
      'CANCELLED (cancelled by bob)',
    ],
  ])('%s', (_name, job, expected) => {
    expect(formatState(job)).toBe(expected);
  });
});

describe('small formatters', () => {
  it.each([
    [0, '0ms'],
    [999, '999ms'],
    [1000, '1s'],
    [61_000, '1m 1s'],
    [3_600_000, '1h'],
    [90_061_000, '1d 1h 1m 1s'],
  ])('formatDuration(%i) = %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('quotes only the arguments a shell would split or expand', () => {
    expect(quoteArgv(['python', '-c', 'print("hi")', '--lr=0.1', '', 'a b', '$HOME'])).toBe(
      `python -c 'print("hi")' --lr=0.1 '' 'a b' '$HOME'`,
    );
  });

  it('prints timestamps to the second in UTC, and a dash for none', () => {
    expect(formatTimestamp('2026-05-06T07:08:09.123Z')).toBe('2026-05-06T07:08:09Z');
    expect(formatTimestamp(null)).toBe('-');
  });

  it('sums up a finished job in one line', () => {
    expect(
      formatFinalStatus(apiJob({ id: 'J', state: 'FAILED', exitCode: 3, reason: 'exited with code 3' })),
    ).toBe('job J FAILED: exited with code 3\n');
    expect(formatFinalStatus(apiJob({ id: 'J', state: 'SUCCEEDED', exitCode: 0 }))).toBe(
      'job J SUCCEEDED: exit code 0\n',
    );
    expect(formatFinalStatus(apiJob({ id: 'J', state: 'CANCELLED' }))).toBe('job J CANCELLED\n');
  });
});

describe('formatError', () => {
  it('prints code and message, and each field for INVALID_ARGUMENT', () => {
    const error = new ApiError(400, 'INVALID_ARGUMENT', 'invalid request body', {
      fields: [
        { path: 'queue', message: 'unknown queue; known: default, gpu' },
        { path: 'command', message: 'must name a program' },
      ],
    });
    expect(formatError(error)).toBe(
      'error: INVALID_ARGUMENT: invalid request body\n  queue: unknown queue; known: default, gpu\n  command: must name a program\n',
    );
  });

  it('prints other API errors on one line', () => {
    expect(
      formatError(
        new ApiError(409, 'NOT_CANCELLABLE', 'job J is already SUCCEEDED and cannot be cancelled', {
          jobId: 'J',
        }),
      ),
    ).toBe('error: NOT_CANCELLABLE: job J is already SUCCEEDED and cannot be cancelled\n');
  });

  it('suggests starting the local platform when a loopback API is unreachable', () => {
    const text = formatError(new ConnectionError('http://127.0.0.1:8787', 'ECONNREFUSED'));
    expect(text).toBe(
      'error: cannot reach the Runplane API at http://127.0.0.1:8787 (ECONNREFUSED)\nhint: is the platform running? start it with `npm start` (or `runplane dev`)\n',
    );
  });

  it('points at the URL setting for a remote API', () => {
    expect(formatError(new ConnectionError('https://api.example.com', 'ENOTFOUND'))).toContain(
      'hint: check RUNPLANE_URL',
    );
  });
});

describe('exitCodeForJob', () => {
  it.each<[JobState, number | null, number]>([
    ['SUCCEEDED', 0, 0],
    ['FAILED', 3, 3],
    ['FAILED', 255, 255],
    ['FAILED', null, 1],
    ['FAILED', 0, 1],
    ['FAILED', 300, 1],
    ['FAILED', -1, 1],
    ['CANCELLED', null, 1],
    ['TIMED_OUT', 137, 1],
  ])('%s with exit code %s → %i', (state, exitCode, expected) => {
    expect(exitCodeForJob({ state, exitCode })).toBe(expected);
  });
});
