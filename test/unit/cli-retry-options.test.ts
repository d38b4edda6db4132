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

  it('puts the container image and its pull policy in the submit body (runplane submit --image)', () => {
    expect(submitSpec(['python', 'train.py'], { image: 'pytorch/pytorch:2.5.1', imagePullPolicy: 'Never', retryOn: ['IMAGE_PULL'] })).toEqual({
      command: ['python', 'train.py'],
      image: 'pytorch/pytorch:2.5.1',
      imagePullPolicy: 'Never',
      retryOn: ['IMAGE_PULL'],
    });
    expect(parseRetryOn('IMAGE_PULL,3')).toEqual(['IMAGE_PULL', 3]);
  });
});
