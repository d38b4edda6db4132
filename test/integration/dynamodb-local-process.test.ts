import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirectoryInUseError, LOCK_FILE, startDynamoDbLocal } from '../../local/dynamodb-local.ts';
import { isAlive, waitUntilGone } from '../support/processes.ts';

/** A process that has exited: its pid names no one (until reused, which the lock's command-line check covers). */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

/**
 * DynamoDB Local as the platform runs it: never two on one data directory, never outliving the
 * process that started it, and a leftover from a killed platform ended by the next start.
 */
describe('DynamoDB Local process', () => {
  const dirs: string[] = [];
  const newDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'runplane-ddb-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second DynamoDB Local on the same data directory', async () => {
    const dbPath = newDir();
    const first = await startDynamoDbLocal({ dbPath });
    try {
      const lock = JSON.parse(readFileSync(join(dbPath, LOCK_FILE), 'utf8')) as { pid: number; parent: number };
      expect(lock).toEqual({ pid: first.process.pid, parent: process.pid });
      await expect(startDynamoDbLocal({ dbPath })).rejects.toBeInstanceOf(DataDirectoryInUseError);
      // The refused start left the first one alone.
      expect(isAlive(first.process.pid!)).toBe(true);
    } finally {
      await first.stop();
    }
    // Released on stop: the next start takes it.
    const again = await startDynamoDbLocal({ dbPath });
    await again.stop();
  }, 180_000);

  it('runs in its own process group, so a Ctrl-C to the terminal does not reach it', async () => {
    const running = await startDynamoDbLocal();
    try {
      const stat = readFileSync(`/proc/${running.process.pid}/stat`, 'utf8');
      const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      expect(pgid).toBe(running.process.pid);
      expect(pgid).not.toBe(Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[2]));
    } finally {
      await running.stop();
    }
  }, 120_000);

  it('halts when the process that started it is killed with SIGKILL', async () => {
    const dbPath = newDir();
    // A parent that starts DynamoDB Local, reports its pid, then waits to be killed.
    const script = `
      const { startDynamoDbLocal } = await import(${JSON.stringify(new URL('../../local/dynamodb-local.ts', import.meta.url).href)});
      const d = await startDynamoDbLocal({ dbPath: ${JSON.stringify(dbPath)} });
      process.stdout.write(String(d.process.pid) + '\\n');
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const javaPid = await new Promise<number>((resolve, reject) => {
      let out = '';
      parent.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
      parent.once('exit', (code) => reject(new Error(`parent exited with ${code}`)));
    });
    expect(isAlive(javaPid)).toBe(true);
    parent.kill('SIGKILL');
    expect(await waitUntilGone(javaPid, 20_000)).toBe(true);
    // Its lock names a dead process now: the next start takes it over.
    const next = await startDynamoDbLocal({ dbPath });
    await next.stop();
  }, 180_000);

  it('ends a DynamoDB Local left running by a dead platform before starting its own', async () => {
    const dbPath = newDir();
    // Stands in for a leftover Java that holds the directory (its command line names it) and
    // whose parent is gone, as after a kill -9 on a system where the watchdog could not act.
    const leftover = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', dbPath], { detached: true, stdio: 'ignore' });
    writeFileSync(join(dbPath, LOCK_FILE), JSON.stringify({ pid: leftover.pid, parent: await deadPid() }));
    const started = await startDynamoDbLocal({ dbPath });
    try {
      expect(await waitUntilGone(leftover.pid!, 5_000)).toBe(true);
      expect(JSON.parse(readFileSync(join(dbPath, LOCK_FILE), 'utf8'))).toEqual({ pid: started.process.pid, parent: process.pid });
    } finally {
      await started.stop();
    }
  }, 180_000);
});
