import { describe, expect, it } from 'vitest';
import { sandboxCommand } from '../../core/runtime/sandbox-command.ts';

const base = {
  bwrap: '/usr/bin/bwrap',
  setpriv: '/usr/bin/setpriv',
  slot: { uid: 20001, gid: 20001 },
  hidden: [
    { path: '/srv/p/.runplane', isDirectory: true },
    { path: '/root/.npmrc', isDirectory: false },
  ],
  workDir: '/tmp/runplane-work/J-1',
  cgroupProcs: '/sys/fs/cgroup/memory/runplane/J-1/cgroup.procs',
  argv: ['python', 'train.py'],
};

describe('sandboxCommand', () => {
  it('joins the cgroup first, then sandboxes, then drops to the slot uid, then runs argv unchanged', () => {
    const argv = sandboxCommand(base);
    expect(argv.slice(0, 4)).toEqual(['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', base.cgroupProcs]);
    const bwrapAt = argv.indexOf('/usr/bin/bwrap');
    const setprivAt = argv.indexOf('/usr/bin/setpriv');
    expect(bwrapAt).toBe(4);
    expect(setprivAt).toBeGreaterThan(bwrapAt);
    expect(argv.slice(setprivAt)).toEqual([
      '/usr/bin/setpriv', '--reuid=20001', '--regid=20001', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--',
      'python', 'train.py',
    ]);
  });

  it('gives the job its own PID namespace, a read-only root, and hides the data dir, credentials and other jobs', () => {
    const argv = sandboxCommand(base).join(' ');
    expect(argv).toContain('--unshare-pid');
    expect(argv).toContain('--die-with-parent');
    expect(argv).toContain('--ro-bind / /');
    expect(argv).toContain('--proc /proc');
    expect(argv).toContain('--tmpfs /srv/p/.runplane');
    expect(argv).toContain('--ro-bind /dev/null /root/.npmrc');
    // The work root is covered, then only this attempt's directory is bound back, read-write.
    expect(argv).toMatch(/--tmpfs \/tmp\/runplane-work --bind \/tmp\/runplane-work\/J-1 \/tmp\/runplane-work\/J-1 --chdir \/tmp\/runplane-work\/J-1/);
  });

  it('without bubblewrap, cgroup or root it runs what remains of the chain', () => {
    expect(sandboxCommand({ ...base, bwrap: undefined, cgroupProcs: undefined })[0]).toBe('/usr/bin/setpriv');
    expect(sandboxCommand({ ...base, bwrap: undefined, cgroupProcs: undefined, slot: undefined })).toEqual(['python', 'train.py']);
  });
});
