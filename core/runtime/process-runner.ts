import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync } from 'node:fs';
import { OUTPUT_STREAMS } from '../events/event.ts';
import { createCaptureFiles, tailFile, type CaptureFiles } from './output-capture.ts';
import { groupHasLiveMember } from './process-tree.ts';

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
  /** Receives every chunk in the order read; returning false pauses that stream until `whenWritable` resolves. */
  readonly onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => boolean;
  readonly whenWritable: () => Promise<void>;
  /** After the main process exits, how long the rest of its process group gets before SIGKILL. */
  readonly orphanGraceMs?: number;
  /**
   * Where the capture files go (`stdout`, `stderr`; see output-capture.ts): the caller's directory,
   * which it removes, or a temporary one removed once the output is read. Keep it outside `cwd`.
   */
  readonly captureDir?: string;
}

/** After SIGKILL, how long we wait for the group to disappear before we stop waiting (zombies nobody reaps). */
const KILLED_GROUP_WAIT_MS = 2_000;
const GROUP_POLL_MS = 20;

/**
 * Runs argv directly (no shell: arguments are never re-parsed) in its own process group, so that a
 * cancel or timeout can signal everything the job started. Its stdout and stderr are files
 * (output-capture.ts), tailed live: every byte written before the process died is delivered.
 */
export function spawnJobProcess(options: SpawnJobProcessOptions): RunningProcess {
  const [program, ...args] = options.argv;
  const capture = createCaptureFiles(options.captureDir);
  let child: ChildProcess;
  try {
    child = spawn(program!, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', capture.writeFds.stdout, capture.writeFds.stderr],
    });
  } catch (err) {
    closeFds(capture);
    capture.dispose();
    return {
      pid: undefined,
      exited: Promise.resolve({ exitCode: null, signal: null, spawnError: (err as Error).message }),
      signal: () => undefined,
    };
  }
  // The child holds its own copies of the write descriptors.
  closeFds(capture);
  let alive = true;
  const signalGroup = (signal: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // The group is already gone.
    }
  };

  // Set once no process of the job's group can write to the capture files any more.
  let writersGone = false;
  const wakeTails: (() => void)[] = [];
  const idle = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      wakeTails.push(done);
    });
  const allWritersGone = () => {
    writersGone = true;
    for (const wake of wakeTails.splice(0)) wake();
  };

  const tails = Promise.all(
    OUTPUT_STREAMS.map((stream) =>
      tailFile({
        path: capture.paths[stream],
        stream,
        onOutput: options.onOutput,
        whenWritable: options.whenWritable,
        writersGone: () => writersGone,
        idle,
      }),
    ),
  );

  const exited = new Promise<ProcessExit>((resolve) => {
    let spawnError: string | undefined;
    child.once('error', (err) => {
      spawnError = err.message;
    });
    child.once('close', (exitCode, signal) => {
      alive = false;
      void (async () => {
        // Grandchildren in the job's group may still write; they get orphanGraceMs, then SIGKILL.
        if (child.pid !== undefined) await waitForGroupToEnd(child.pid, options.orphanGraceMs ?? 2_000, signalGroup);
        allWritersGone();
        await tails.catch(() => undefined);
        capture.dispose();
        resolve({ exitCode: spawnError ? null : exitCode, signal, ...(spawnError ? { spawnError } : {}) });
      })();
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

function closeFds(capture: CaptureFiles) {
  for (const fd of Object.values(capture.writeFds)) {
    try {
      closeSync(fd);
    } catch {
      // Already closed.
    }
  }
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    // EPERM: a member changed identity; it is still there.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A member of the group that runs: the signal test first (cheap, and enough when the group is gone), then /proc, which tells zombies apart. */
async function groupRuns(pgid: number): Promise<boolean> {
  if (!groupExists(pgid)) return false;
  return (await groupHasLiveMember(pgid)) ?? true;
}

async function waitForGroupToEnd(pgid: number, graceMs: number, signalGroup: (signal: NodeJS.Signals) => void): Promise<void> {
  const pollUntil = async (deadline: number) => {
    while ((await groupRuns(pgid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, GROUP_POLL_MS));
  };
  await pollUntil(Date.now() + graceMs);
  if (!(await groupRuns(pgid))) return;
  signalGroup('SIGKILL');
  await pollUntil(Date.now() + KILLED_GROUP_WAIT_MS);
}
