import { Writable } from 'node:stream';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import type { ApiJob, JobEvent } from '../../cli/api-client.ts';
import { runCli, type CliIo } from '../../cli/main.ts';
import { parseBaseUrl } from '../../cli/base-url.ts';
import {
  parseEnvOption,
  parseLabelOption,
  parsePositiveInt,
  parseState,
  splitAssignment,
} from '../../cli/options.ts';
import { resolveToken } from '../../cli/credentials.ts';
import { jobView } from '../../core/jobs/job-view.ts';
import { makeJob } from '../support/jobs.ts';

interface Request {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

type Route = (request: Request) => Response | Promise<Response>;

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

function capture() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return { stream, text: () => chunks.join('') };
}

/** Runs the CLI in-process against a routed fake `fetch`; nothing is slept for real. */
async function cli(
  args: string[],
  route: Route = () => json(500, {}),
  env: Record<string, string> = {},
  options: { stderrIsTTY?: boolean; stdoutIsTTY?: boolean } = {},
) {
  const stdout = capture();
  const stderr = capture();
  if (options.stderrIsTTY) Object.assign(stderr.stream, { isTTY: true });
  if (options.stdoutIsTTY) Object.assign(stdout.stream, { isTTY: true });
  const requests: Request[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const request: Request = {
      method: init?.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: { ...(init?.headers as Record<string, string>) },
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    requests.push(request);
    return route(request);
  }) as unknown as typeof globalThis.fetch;
  const io: Partial<CliIo> = {
    stdout: stdout.stream,
    stderr: stderr.stream,
    env,
    fetch,
    sleep: async () => undefined,
    retry: { attempts: 2 },
  };
  const code = await runCli(args, io);
  return { code, stdout: stdout.text(), stderr: stderr.text(), requests };
}

const apiJob = (overrides: Parameters<typeof makeJob>[0] = {}): ApiJob =>
  jobView(makeJob({ id: '01JOB', ...overrides }));

describe('option parsers', () => {
  it('splits KEY=VALUE at the first = only', () => {
    expect(splitAssignment('A=b=c')).toEqual(['A', 'b=c']);
    expect(splitAssignment('A=')).toEqual(['A', '']);
    expect(() => splitAssignment('A')).toThrow(InvalidArgumentError);
    expect(() => splitAssignment('=x')).toThrow('Expected KEY=VALUE.');
  });

  it('accumulates env variables and rejects bad names, NUL values and repeats', () => {
    expect(parseEnvOption('B=2', parseEnvOption('A=1', undefined))).toEqual({ A: '1', B: '2' });
    expect(() => parseEnvOption('1A=x', undefined)).toThrow(
      'environment variable "1A" must match [A-Za-z_][A-Za-z0-9_]*.',
    );
    expect(() => parseEnvOption('A-B=x', undefined)).toThrow(InvalidArgumentError);
    expect(() => parseEnvOption('A=x\u0000', undefined)).toThrow('must not contain NUL characters');
    expect(() => parseEnvOption('A=2', { A: '1' })).toThrow('environment variable "A" is given twice.');
  });

  it('accepts label keys the API accepts and rejects the rest', () => {
    expect(parseLabelOption('team/ml.v2=a b', undefined)).toEqual({ 'team/ml.v2': 'a b' });
    expect(() => parseLabelOption('-x=1', undefined)).toThrow('label "-x" must match');
    expect(() => parseLabelOption('x=a\nb', undefined)).toThrow('must not contain control characters');
  });

  it.each(['0', '-1', '1.5', 'abc', '', '1e3'])('parsePositiveInt rejects %j', (raw) => {
    expect(() => parsePositiveInt(raw)).toThrow(InvalidArgumentError);
  });

  it('parses states case-insensitively and URLs strictly', () => {
    expect(parseState('failed')).toBe('FAILED');
    expect(() => parseState('DONE')).toThrow('Expected one of QUEUED, RUNNING');
    expect(parseBaseUrl('https://api.example.com/prod/')).toBe('https://api.example.com/prod');
    expect(() => parseBaseUrl('ftp://x')).toThrow(InvalidArgumentError);
    expect(() => parseBaseUrl('localhost:8787')).toThrow(InvalidArgumentError);
  });

  it('takes --token over RUNPLANE_TOKEN and ignores empty values', async () => {
    expect(await resolveToken({ flag: 'a', env: { RUNPLANE_TOKEN: 'b' } })).toBe('a');
    expect(await resolveToken({ flag: undefined, env: { RUNPLANE_TOKEN: 'b' } })).toBe('b');
    expect(await resolveToken({ flag: '', env: { RUNPLANE_TOKEN: ' ' } })).toBeUndefined();
  });
});

describe('runplane submit', () => {
  const created: Route = ({ method, body }) =>
    method === 'POST' ? json(201, { ...apiJob(), ...(body as object) }) : json(404, {});

  it('sends exactly the options given and the command verbatim, and prints the id', async () => {
    const result = await cli(
      [
        'submit',
        '-q',
        'gpu',
        '-e',
        'A=1',
        '--env',
        'B=x=y',
        '-n',
        'sweep 1',
        '--timeout',
        '60',
        '--max-attempts',
        '3',
        '--gpus',
        '1',
        '--memory',
        '2048',
        '-l',
        'team=ml',
        '--',
        'python',
        '-u',
        'train.py',
        '--lr',
        '0.1',
        '',
        '--',
        '$HOME',
        '--json',
      ],
      created,
      { RUNPLANE_URL: 'http://api.test:9000/' },
    );
    expect(result).toMatchObject({ code: 0, stdout: '01JOB\n', stderr: '' });
    expect(result.requests).toHaveLength(1);
    const [request] = result.requests;
    expect(request?.path).toBe('/v1/jobs');
    expect(request?.body).toEqual({
      command: ['python', '-u', 'train.py', '--lr', '0.1', '', '--', '$HOME', '--json'],
      queue: 'gpu',
      env: { A: '1', B: 'x=y' },
      name: 'sweep 1',
      timeoutSeconds: 60,
      maxAttempts: 3,
      resources: { gpus: 1, memoryMiB: 2048 },
      labels: { team: 'ml' },
    });
    expect(request?.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('leaves defaults to the server and takes a command without --', async () => {
    const result = await cli(['submit', 'nvidia-smi'], created);
    expect(result.requests[0]?.body).toEqual({ command: ['nvidia-smi'] });
  });

  it('prints the job as JSON with --json, before or after the subcommand', async () => {
    for (const args of [
      ['--json', 'submit', '--', 'true'],
      ['submit', '--json', '--', 'true'],
    ]) {
      const result = await cli(args, created);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ id: '01JOB', command: ['true'] });
    }
  });

  it('sends the token from --token or RUNPLANE_TOKEN', async () => {
    const fromFlag = await cli(['--token', 't1', 'submit', '--', 'true'], created, { RUNPLANE_TOKEN: 't2' });
    expect(fromFlag.requests[0]?.headers.authorization).toBe('Bearer t1');
    const fromEnv = await cli(['submit', '--', 'true'], created, { RUNPLANE_TOKEN: 't2' });
    expect(fromEnv.requests[0]?.headers.authorization).toBe('Bearer t2');
  });

  it.each<[string, string[], RegExp]>([
    [
      'a bad env name',
      ['submit', '-e', '1X=1', '--', 'true'],
      /argument '1X=1' is invalid\. environment variable "1X" must match/,
    ],
    [
      'env without =',
      ['submit', '--env', 'FOO', '--', 'true'],
      /argument 'FOO' is invalid\. Expected KEY=VALUE\./,
    ],
    ['a bad label key', ['submit', '-l', '_x=1', '--', 'true'], /label "_x" must match/],
    [
      'a negative GPU count',
      ['submit', '--gpus', '-1', '--', 'true'],
      /--gpus <n>' argument '-1' is invalid\. Expected at least 0\./,
    ],
    [
      'a timeout that is not a number',
      ['submit', '--timeout', '1h', '--', 'true'],
      /Expected a whole number\./,
    ],
    [
      'no command',
      ['submit', '--queue', 'gpu'],
      /missing required argument 'command'\nhint: put the command after --/,
    ],
    [
      'job options without --',
      ['submit', 'python', 'train.py', '--lr', '1'],
      /unknown option '--lr'\nhint: put the command after --/,
    ],
    ['an unknown command', ['sumbit'], /unknown command 'sumbit'[\s\S]*Did you mean submit\?/],
    [
      'a bad state filter',
      ['list', '--state', 'done'],
      /Expected one of QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, TIMED_OUT\./,
    ],
    ['a bad --url', ['--url', 'nope', 'list'], /Expected a URL such as http:\/\/127\.0\.0\.1:8787\./],
    [
      'conflicting dev options',
      ['dev', '--in-memory', '--data-dir', 'x'],
      /'--in-memory' cannot be used with option '--data-dir <dir>'/,
    ],
  ])('rejects %s with exit code 2 before sending anything', async (_name, args, message) => {
    const result = await cli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.requests).toEqual([]);
  });

  it('rejects a RUNPLANE_URL that is not a URL with exit code 2', async () => {
    const result = await cli(['list'], undefined, { RUNPLANE_URL: 'api.example.com' });
    expect(result).toMatchObject({
      code: 2,
      stderr: 'error: RUNPLANE_URL is not an http(s) URL: api.example.com\n',
      requests: [],
    });
  });

  /** POST creates the job; each GET returns the next state in `states` (the last one repeats). */
  function lifecycle(states: Partial<ApiJob>[], events: JobEvent[] = []): Route {
    let reads = 0;
    return ({ method, path, query }) => {
      if (method === 'POST') return json(201, apiJob());
      if (path.endsWith('/events')) {
        const after = Number(query.get('after') ?? 0);
        const visible = events.filter((e) => e.seq > after && e.seq <= reads * 2);
        return json(200, { events: visible, next: visible.at(-1)?.seq ?? after, hasMore: false });
      }
      const state = states[Math.min(reads, states.length - 1)];
      reads += 1;
      return json(200, { ...apiJob(), ...state });
    };
  }

  it.each<[string, Partial<ApiJob>, number, string]>([
    [
      'SUCCEEDED',
      { state: 'SUCCEEDED', exitCode: 0, reason: 'exited with code 0' },
      0,
      'job 01JOB SUCCEEDED: exited with code 0\n',
    ],
    [
      'FAILED with an exit code',
      { state: 'FAILED', exitCode: 42, reason: 'exited with code 42' },
      42,
      'job 01JOB FAILED: exited with code 42\n',
    ],
    [
      'FAILED by a signal',
      { state: 'FAILED', exitCode: null, reason: 'killed by SIGKILL' },
      1,
      'job 01JOB FAILED: killed by SIGKILL\n',
    ],
    [
      'CANCELLED',
      { state: 'CANCELLED', reason: 'cancelled by bob' },
      1,
      'job 01JOB CANCELLED: cancelled by bob\n',
    ],
    [
      'TIMED_OUT',
      { state: 'TIMED_OUT', reason: 'timed out after 5 s' },
      1,
      'job 01JOB TIMED_OUT: timed out after 5 s\n',
    ],
  ])('--wait on a job that ends %s exits %i', async (_name, final, code, stderr) => {
    const result = await cli(
      ['submit', '--wait', '--', 'true'],
      lifecycle([{ state: 'QUEUED' }, { state: 'RUNNING', attempt: 1 }, { attempt: 1, ...final }]),
    );
    expect(result).toMatchObject({ code, stdout: '01JOB\n', stderr });
    expect(result.requests.filter((r) => r.method === 'GET')).toHaveLength(3);
  });

  it('--wait tells a terminal why the job waits and when it starts, and the outcome once', async () => {
    const states: Partial<ApiJob>[] = [
      { state: 'QUEUED', waiting: null },
      { state: 'QUEUED', waitingReason: 'no free GPU on queue gpu', waiting: { code: 'Resources', message: 'no free GPU on queue gpu', since: '2026-01-01T00:00:00.000Z', position: null } },
      { state: 'QUEUED', waitingReason: 'no free GPU on queue gpu', waiting: { code: 'Resources', message: 'no free GPU on queue gpu', since: '2026-01-01T00:00:00.000Z', position: null } },
      { state: 'RUNNING', attempt: 1 },
      { state: 'SUCCEEDED', attempt: 1, exitCode: 0, reason: 'exited with code 0' },
    ];
    const result = await cli(['submit', '-w', '--', 'true'], lifecycle(states), {}, { stderrIsTTY: true });
    expect(result.stderr).toBe(
      [
        'runplane: 01JOB QUEUED (waiting: Resources since 2026-01-01T00:00:00Z: no free GPU on queue gpu)',
        'runplane: 01JOB RUNNING',
        'job 01JOB SUCCEEDED: exited with code 0',
        '',
      ].join('\n'),
    );
  });

  it('--wait --json prints the final job only', async () => {
    const result = await cli(
      ['submit', '--wait', '--json', '--', 'false'],
      lifecycle([{ state: 'FAILED', exitCode: 1, reason: 'exited with code 1' }]),
    );
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ id: '01JOB', state: 'FAILED', exitCode: 1 });
  });

  const output = (seq: number, stream: 'stdout' | 'stderr', data: string): JobEvent => ({
    jobId: '01JOB',
    attempt: 1,
    seq,
    ts: '2026-01-01T00:00:00Z',
    kind: 'output',
    stream,
    data,
  });

  it('--follow writes the job’s output to stdout and stderr as written, and the id and outcome to stderr', async () => {
    const events = [
      output(1, 'stdout', 'step 1\n'),
      output(2, 'stderr', 'warn\n'),
      output(3, 'stdout', 'step 2 '),
      output(4, 'stdout', 'done\n'),
    ];
    const result = await cli(
      ['submit', '--follow', '--', 'train'],
      lifecycle(
        [
          { state: 'RUNNING', attempt: 1 },
          { state: 'RUNNING', attempt: 1 },
          { state: 'FAILED', attempt: 1, exitCode: 7, reason: 'exited with code 7' },
        ],
        events,
      ),
    );
    expect(result.code).toBe(7);
    expect(result.stdout).toBe('step 1\nstep 2 done\n');
    expect(result.stderr).toBe('submitted 01JOB\nwarn\n--- FAILED (exit code 7)\n');
  });

  describe("a job's terminal control sequences", () => {
    const ESC = '\u001b';
    const hostile = `${ESC}]0;pwned\u0007${ESC}[2J${ESC}[31mred${ESC}[0m\u0008\n`;
    const logsRoute: Route = ({ path }) =>
      path.endsWith('/logs')
        ? new Response(hostile, { status: 200, headers: { 'content-type': 'text/plain', 'x-runplane-attempt': '1' } })
        : json(404, {});

    it('are neutralised when logs write to a terminal, kept with --raw and in a pipe', async () => {
      const tty = await cli(['logs', '01JOB'], logsRoute, {}, { stdoutIsTTY: true });
      expect(tty.stdout).toBe('red\ufffd\n');
      const raw = await cli(['logs', '--raw', '01JOB'], logsRoute, {}, { stdoutIsTTY: true });
      expect(raw.stdout).toBe(hostile);
      const pipe = await cli(['logs', '01JOB'], logsRoute);
      expect(pipe.stdout).toBe(hostile);
    });

    it('are neutralised in --follow on each terminal stream, also when split across events', async () => {
      const events = [
        output(1, 'stdout', `a${ESC}]52;c;cm0g`),
        output(2, 'stderr', `warn${ESC}`),
        output(3, 'stdout', `\u0007b\n`),
        output(4, 'stderr', `[1Aend\n`),
      ];
      const route = () =>
        lifecycle(
          [
            { state: 'RUNNING', attempt: 1 },
            { state: 'SUCCEEDED', attempt: 1, exitCode: 0 },
          ],
          events,
        );
      const tty = await cli(['submit', '--follow', '--', 'x'], route(), {}, { stdoutIsTTY: true, stderrIsTTY: true });
      expect(tty.stdout).toBe('ab\n');
      expect(tty.stderr).toContain('warnend\n');
      const raw = await cli(['submit', '--follow', '--raw', '--', 'x'], route(), {}, { stdoutIsTTY: true, stderrIsTTY: true });
      expect(raw.stdout).toBe(`a${ESC}]52;c;cm0g\u0007b\n`);
      expect(raw.stderr).toContain(`warn${ESC}[1Aend\n`);
    });
  });

  it('--follow --json prints one JSON object per line: the events, then the final job', async () => {
    const result = await cli(
      ['--json', 'submit', '-f', '--', 'x'],
      lifecycle(
        [{ state: 'SUCCEEDED', attempt: 1, exitCode: 0 }],
        [output(1, 'stdout', 'hi\n'), output(2, 'stderr', 'oops\n')],
      ),
    );
    expect(result.code).toBe(0);
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.data ?? l.state)).toEqual(['hi\n', 'oops\n', 'SUCCEEDED']);
  });
});

describe('runplane list, logs, get, cancel', () => {
  it('list --all follows cursors and prints one table', async () => {
    const pages: Record<string, unknown> = {
      '': { jobs: [apiJob({ id: 'J3', state: 'RUNNING' })], nextCursor: 'c1' },
      c1: {
        jobs: [apiJob({ id: 'J2' }), apiJob({ id: 'J1', state: 'SUCCEEDED', exitCode: 0 })],
        nextCursor: null,
      },
    };
    const result = await cli(['list', '--all', '--state', 'running', '--limit', '2'], ({ query }) =>
      json(200, pages[query.get('cursor') ?? '']),
    );
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').map((l) => l.split(/\s+/)[0])).toEqual(['ID', 'J3', 'J2', 'J1', '']);
    expect(result.requests.map((r) => r.query.toString())).toEqual([
      'state=RUNNING&limit=2',
      'state=RUNNING&limit=2&cursor=c1',
    ]);
  });

  it('list without --all says how to get the next page', async () => {
    const result = await cli(['list'], () => json(200, { jobs: [apiJob({ id: 'J9' })], nextCursor: 'abc' }));
    expect(result.stderr).toBe('more jobs: run again with --cursor abc, or use --all\n');
    const empty = await cli(['ls'], () => json(200, { jobs: [], nextCursor: null }));
    expect(empty.stdout).toBe('no jobs\n');
  });

  it('logs prints the text and, when the server cut it short, the rest from the events', async () => {
    const result = await cli(['logs', '01JOB'], ({ path, query }) => {
      if (path.endsWith('/logs')) {
        return new Response('first part\n', {
          status: 200,
          headers: {
            'content-type': 'text/plain',
            'x-runplane-attempt': '2',
            'x-runplane-truncated': 'true',
            'x-runplane-next-after': '10',
          },
        });
      }
      expect(query.get('attempt')).toBe('2');
      expect(query.get('after')).toBe('10');
      return json(200, {
        events: [
          { jobId: '01JOB', attempt: 2, seq: 11, ts: 't', kind: 'output', stream: 'stderr', data: 'rest\n' },
          { jobId: '01JOB', attempt: 2, seq: 12, ts: 't', kind: 'lifecycle', name: 'exited', details: {} },
        ],
        next: 12,
        hasMore: false,
      });
    });
    expect(result).toMatchObject({ code: 0, stdout: 'first part\nrest\n' });
  });

  it('get renders a block and cancel reports what happened', async () => {
    const get = await cli(['get', '01JOB'], () =>
      json(200, apiJob({ state: 'RUNNING', cancelRequested: true })),
    );
    expect(get.stdout).toMatch(/^State:\s+RUNNING \(cancel requested\)$/m);
    const queued = await cli(['cancel', '01JOB'], () => json(200, apiJob({ state: 'CANCELLED' })));
    expect(queued.stdout).toBe('cancelled 01JOB\n');
    const running = await cli(['cancel', '01JOB'], () =>
      json(200, apiJob({ state: 'RUNNING', cancelRequested: true })),
    );
    expect(running.stdout).toBe(
      'cancel requested for 01JOB (RUNNING): its worker stops it within one heartbeat\n',
    );
  });

  it('renders API errors with exit code 1, as text or as the raw JSON error', async () => {
    const notCancellable = () =>
      json(409, {
        error: {
          code: 'NOT_CANCELLABLE',
          message: 'job 01JOB is already SUCCEEDED and cannot be cancelled',
          details: {},
        },
      });
    const human = await cli(['cancel', '01JOB'], notCancellable);
    expect(human).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'error: NOT_CANCELLABLE: job 01JOB is already SUCCEEDED and cannot be cancelled\n',
    });
    const machine = await cli(['cancel', '01JOB', '--json'], notCancellable);
    expect(machine.code).toBe(1);
    expect(JSON.parse(machine.stderr)).toMatchObject({ status: 409, error: { code: 'NOT_CANCELLABLE' } });
  });
});

describe('command wiring: each command is loaded only when it is run', () => {
  const COMMANDS = ['submit', 'get', 'list|ls', 'logs', 'artifacts', 'download', 'cancel', 'retry', 'workers', 'groups', 'keys', 'token', 'audit', 'worker', 'dev'];

  it('lists every command with its summary in the top-level help', async () => {
    const result = await cli(['--help']);
    expect(result.code).toBe(0);
    for (const name of COMMANDS) expect(result.stdout).toMatch(new RegExp(`^  ${name.replace('|', '\\|')} `, 'm'));
    expect(result.stdout).toContain("print a job's output (--follow: stream it until the job ends)");
  });

  it.each([
    [['help', 'logs'], '--attempt <n>'],
    [['logs', '--help'], '--attempt <n>'],
    [['help', 'ls'], '--cursor <cursor>'],
    [['keys', 'help', 'create'], '--ttl <duration>'],
    [['audit', 'verify', '--help'], '--local'],
  ])('shows the options of the command asked for: %j', async (args, option) => {
    const result = await cli(args);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(option);
  });

  it('finds the command after global options and their values', async () => {
    const job = apiJob();
    const route: Route = ({ path }) => (path === '/v1/jobs/01JOB' ? json(200, job) : json(404, {}));
    for (const args of [
      ['--url', 'http://127.0.0.1:9', '--token', 'list', 'get', '01JOB'],
      ['--token=t', '--json', 'get', '01JOB'],
    ]) {
      const result = await cli(args, route);
      expect(result.code, result.stderr).toBe(0);
      expect(result.requests.map((r) => r.path)).toEqual(['/v1/jobs/01JOB']);
    }
    const withValue = await cli(['--url', 'http://127.0.0.1:9', '--token', 'list', 'get', '01JOB'], route);
    expect(withValue.requests[0]?.headers.authorization).toBe('Bearer list');
  });
});

describe('runplane groups', () => {
  const ml = { name: 'ml', maxGpus: 4, maxRunningJobs: null, weight: 2, runningGpus: 3, runningJobs: 2, recentGpuSeconds: 7200 };

  it('prints the groups as a table of used/limit, weight and recent GPU-hours', async () => {
    const result = await cli(['groups'], ({ path }) => (path === '/v1/groups' ? json(200, { groups: [ml] }) : json(404, {})));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n')[0]).toMatch(/^GROUP\s+GPUS\s+JOBS\s+WEIGHT\s+RECENT GPU-HOURS/);
    expect(result.stdout).toMatch(/^ml\s+3\/4\s+2\/-\s+2\s+2\.00\s*$/m);
  });

  it('set sends only the options given, none as null, and prints the row', async () => {
    const result = await cli(['groups', 'set', 'ml', '--gpus', '4', '--jobs', 'none'], ({ method, path }) =>
      method === 'PUT' && path === '/v1/groups/ml' ? json(200, { group: ml }) : json(404, {}),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.requests.map((r) => [r.method, r.path, r.body])).toEqual([['PUT', '/v1/groups/ml', { maxGpus: 4, maxRunningJobs: null }]]);
    expect(result.stdout).toMatch(/^ml\s+3\/4/m);
    const encoded = await cli(['groups', 'set', '/lab/vision', '--weight', '0.5', '--json'], () => json(200, { group: { ...ml, name: '/lab/vision' } }));
    expect(encoded.requests[0]).toMatchObject({ path: '/v1/groups/%2Flab%2Fvision', body: { weight: 0.5 } });
    expect(JSON.parse(encoded.stdout)).toEqual({ group: { ...ml, name: '/lab/vision' } });
  });

  it.each([
    [['groups', 'set', 'ml'], 'name at least one of --gpus, --jobs, --weight'],
    [['groups', 'set', 'ml', '--gpus', '-1'], '--gpus'],
    [['groups', 'set', 'ml', '--weight', '0'], '--weight'],
  ])('refuses %j before any request', async (args, message) => {
    const result = await cli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.requests).toEqual([]);
  });
});
