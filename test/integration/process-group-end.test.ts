import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { groupHasLiveMember } from '../../core/runtime/process-tree.ts';

/**
 * A job's process group has ended when nothing in it runs. A member that ended but was not reaped
 * (a zombie) still answers `kill(-pgid, 0)`; where no init reaps orphans, a job's dead orphans stay
 * so, and the runner waited its whole orphan grace (2 s) after every job that had one (bubblewrap
 * leaves one per job on such machines).
 */
describe('groupHasLiveMember', () => {
  const holders: ReturnType<typeof spawn>[] = [];
  afterEach(() => {
    for (const p of holders.splice(0)) p.kill('SIGKILL');
  });

  /**
   * A process group whose only member is a zombie, deterministically: `setsid true` runs in a
   * session and group of its own and exits at once, and its parent (`exec sleep`, in another
   * group) never reaps it. Resolves to the zombie's group id.
   */
  async function zombieGroup(): Promise<number> {
    const holder = spawn('sh', ['-c', 'setsid true & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'inherit'] });
    holders.push(holder);
    const [line] = (await once(holder.stdout!, 'data')) as [Buffer];
    const pgid = Number(line.toString().trim());
    // Wait until it has exited (a zombie), which takes a moment after the echo.
    for (let i = 0; i < 100 && (await groupHasLiveMember(pgid)); i++) await new Promise((r) => setTimeout(r, 20));
    return pgid;
  }

  // Break verified: counting state `Z` as a live member (the runner waited its grace again).
  it('says a group whose only member is a zombie has ended, though the signal test still finds it', async () => {
    const pgid = await zombieGroup();
    expect(() => process.kill(-pgid, 0)).not.toThrow(); // the zombie is still a member
    expect(await groupHasLiveMember(pgid)).toBe(false);
  });

  it('says a group with a running member runs, and an unknown group does not', async () => {
    const live = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    holders.push(live);
    await once(live, 'spawn');
    expect(await groupHasLiveMember(live.pid!)).toBe(true);
    live.kill('SIGKILL');
    await once(live, 'exit');
    expect(await groupHasLiveMember(live.pid!)).toBe(false);
  });
});
