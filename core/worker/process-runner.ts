import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface ProcessExit {
  /** Null when the process was killed by a signal or never started. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the program could not be started at all (ENOENT, EACCES...). */
  readonly spawnError?: string;
}

export interface RunningProcess {
  readonly pid: number | undefined;
  /** Resolves when the process has exited and both output streams are fully read. */
  readonly exited: Promise<ProcessExit>;
  /** Signals the whole process group: the job's children die with it. */
  signal(signal: NodeJS.Signals): void;
}

export interface SpawnJobProcessOptions {
  readonly argv: readonly string[];
  readonly env: Record<string, string>;
  readonly cwd: string;
  /** Receives every chunk in the order read; returning false pauses that stream until `resume` resolves. */
  readonly onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => boolean;
  readonly whenWritable: () => Promise<void>;
  /** After the main process exits, how long stragglers holding its pipes get before SIGKILL. */
  readonly orphanGraceMs?: number;
}

/**
 * Runs argv directly (no shell: arguments are never re-parsed) in its own process group, so that a
 * cancel or timeout can signal everything the job started.
 */
export function spawnJobProcess(options: SpawnJobProcessOptions): RunningProcess {
  const [program, ...args] = options.argv;
  let child: ChildProcess;
  try {
    child = spawn(program!, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    return {
      pid: undefined,
      exited: Promise.resolve({ exitCode: null, signal: null, spawnError: (err as Error).message }),
      signal: () => undefined,
    };
  }
  let alive = true;
  const signalGroup = (signal: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // The group is already gone.
    }
  };

  const pump = (stream: Readable | null, name: 'stdout' | 'stderr') => {
    if (!stream) return;
    stream.on('data', (chunk: Buffer) => {
      if (!options.onOutput(name, chunk)) {
        // Back-pressure: the pipe fills and the job blocks on write instead of us dropping output.
        stream.pause();
        void options.whenWritable().then(() => stream.resume());
      }
    });
  };
  pump(child.stdout, 'stdout');
  pump(child.stderr, 'stderr');

  const exited = new Promise<ProcessExit>((resolve) => {
    let spawnError: string | undefined;
    child.once('error', (err) => {
      spawnError = err.message;
    });
    child.once('exit', () => {
      alive = false;
      // Grandchildren that outlive the job would keep the pipes open forever; end them.
      const timer = setTimeout(() => signalGroup('SIGKILL'), options.orphanGraceMs ?? 2_000);
      timer.unref();
      child.once('close', () => clearTimeout(timer));
    });
    child.once('close', (exitCode, signal) => {
      alive = false;
      resolve({ exitCode: spawnError ? null : exitCode, signal, ...(spawnError ? { spawnError } : {}) });
    });
  });

  return {
    pid: child.pid,
    exited,
    signal: (signal) => {
      if (alive) signalGroup(signal);
    },
  };
}
