import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { leadsOwnSession, lowerAutogroupPriority, PLATFORM_AUTOGROUP_NICE, yieldCpuToJobs } from '../../core/runtime/autogroup-priority.ts';

// Linux with autogroups (the development machine and CI); elsewhere every call says why not.
const hasAutogroups = existsSync('/proc/self/autogroup');
const niceOf = (pid: number | 'self') => Number(/nice (-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'))?.[1]);
const modulePath = fileURLToPath(new URL('../../core/runtime/autogroup-priority.ts', import.meta.url));

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** A process in a session, and so an autogroup, of its own: what a job or DynamoDB Local is. */
function detached(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return child;
}

describe('lowerAutogroupPriority', () => {
  it("raises a detached process's autogroup nice value, never lowers it, and leaves the caller's alone", async () => {
    const child = detached('sleep', ['60']);
    const pid = child.pid!;
    const raised = await lowerAutogroupPriority(pid, 7);
    if (!hasAutogroups) {
      expect(raised).toHaveProperty('unavailable');
      return;
    }
    const ownBefore = niceOf('self');
    expect(raised).toEqual({ nice: 7 });
    expect(niceOf(pid)).toBe(7);
    // Lower is refused without privilege and would favour the platform: the call keeps 7.
    expect(await lowerAutogroupPriority(pid, 3)).toEqual({ nice: 7 });
    expect(niceOf(pid)).toBe(7);
    expect(niceOf('self')).toBe(ownBefore);
  });

  it('says why when there is no such process', async () => {
    const result = await lowerAutogroupPriority(2 ** 30);
    expect(result).toHaveProperty('unavailable');
    expect((result as { unavailable: string }).unavailable).toContain(`/proc/${2 ** 30}/autogroup`);
  });
});

describe('yieldCpuToJobs', () => {
  it("leaves the caller's session alone in a process that does not lead its own", async () => {
    expect(await leadsOwnSession()).toBe(false);
    const before = hasAutogroups ? niceOf('self') : undefined;
    expect(await yieldCpuToJobs()).toHaveProperty('unavailable');
    if (hasAutogroups) expect(niceOf('self')).toBe(before);
  });

  it('lowers the autogroup of a process that leads its session', { timeout: 60_000 }, async () => {
    const script = `import(${JSON.stringify(modulePath)}).then(async (m) => console.log(JSON.stringify({ leads: await m.leadsOwnSession(), priority: await m.yieldCpuToJobs() })))`;
    const child = detached(process.execPath, ['--import', 'tsx', '-e', script]);
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await once(child, 'close');
    const { leads, priority } = JSON.parse(out) as { leads: boolean; priority: unknown };
    expect(leads).toBe(true);
    if (hasAutogroups) expect(priority).toEqual({ nice: PLATFORM_AUTOGROUP_NICE });
    else expect(priority).toHaveProperty('unavailable');
  });
});
