import { describe, expect, it } from 'vitest';
import { submitSpec } from '../../cli/commands/submit.ts';
import { parseRetryOn } from '../../cli/options.ts';

describe('--retry-on', () => {
  it.each([
    ['3', [3]],
    ['3,137', [3, 137]],
    ['nonzero', ['NONZERO']],
    ['WORKER_LOST, timed_out, 2', ['WORKER_LOST', 'TIMED_OUT', 2]],
  ])('parses %s', (raw, expected) => {
    expect(parseRetryOn(raw)).toEqual(expected);
  });

  it.each(['0', '256', '1.5', 'SOMETIMES', ''])('rejects %j', (raw) => {
    expect(() => parseRetryOn(raw)).toThrow(/not an exit code/);
  });

  it('puts the retry policy in the submit body only when given', () => {
    expect(submitSpec(['true'], {})).toEqual({ command: ['true'] });
    expect(submitSpec(['true'], { retryOn: [3, 'WORKER_LOST'], retryDelay: 0, maxAttempts: 3 })).toEqual({
      command: ['true'],
      maxAttempts: 3,
      retryOn: [3, 'WORKER_LOST'],
      retryDelaySeconds: 0,
    });
  });
});
