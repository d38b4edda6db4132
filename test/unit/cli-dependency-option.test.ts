import { describe, expect, it } from 'vitest';
import { submitSpec } from '../../cli/commands/submit.ts';
import { formatJobDetails, formatState } from '../../cli/format.ts';
import { parseDependencyOption } from '../../cli/options.ts';
import { newJobId } from '../../core/ids.ts';
import { jobView } from '../../core/jobs/job-view.ts';
import { makeJob } from '../support/jobs.ts';

describe('--dependency in the Slurm idiom', () => {
  const [a, b, c] = [newJobId(), newJobId(), newJobId()];

  it.each<[string, { job: string; type: string }[]]>([
    [`afterok:${a}`, [{ job: a, type: 'afterok' }]],
    [`afterok:${a}:${b}`, [{ job: a, type: 'afterok' }, { job: b, type: 'afterok' }]],
    [`afterok:${a},afterany:${b}`, [{ job: a, type: 'afterok' }, { job: b, type: 'afterany' }]],
    [`afternotok:${a},aftercorr:${c}`, [{ job: a, type: 'afternotok' }, { job: c, type: 'aftercorr' }]],
  ])('%s', (raw, expected) => {
    expect(parseDependencyOption(raw, undefined)).toEqual(expected);
  });

  it('adds repeated flags up, once each', () => {
    const first = parseDependencyOption(`afterok:${a}`, undefined);
    expect(parseDependencyOption(`afterok:${a}:${b}`, first)).toEqual([{ job: a, type: 'afterok' }, { job: b, type: 'afterok' }]);
  });

  it.each([
    [`after:${a}`, /TYPE one of afterok, afterany, afternotok, aftercorr/],
    ['afterok', /at least one job id/],
    ['afterok:', /is not a job id/],
    ['afterok:123', /"123" is not a job id/],
    [`afterok:${a}?afterany:${b}`, /"\?" \(any of\) is not supported/],
  ])('refuses %s', (raw, why) => {
    expect(() => parseDependencyOption(raw, undefined)).toThrow(why);
  });

  it('becomes dependsOn in the submit body', () => {
    expect(submitSpec(['true'], { dependency: [{ job: a, type: 'afterok' }] })).toEqual({ command: ['true'], dependsOn: [{ job: a, type: 'afterok' }] });
  });
});

describe('runplane get for a job with dependencies', () => {
  const a = newJobId();
  it('shows what it depends on and, while held, what it waits for', () => {
    const held = jobView(
      makeJob({ dependsOn: [{ job: a, type: 'afterok' }], hold: { code: 'Dependency', message: `waiting for afterok:${a} (RUNNING)` } }),
    );
    expect(formatState(held)).toBe(`QUEUED (held: waiting for afterok:${a} (RUNNING))`);
    const text = formatJobDetails(held);
    expect(text).toMatch(new RegExp(`^Depends on:\\s+afterok:${a}$`, 'm'));
    expect(formatJobDetails(jobView(makeJob()))).toMatch(/^Depends on:\s+-$/m);
  });
});
