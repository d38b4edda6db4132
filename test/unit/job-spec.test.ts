import { describe, expect, it } from 'vitest';
import { jobSpecSchema, DEFAULT_RETRY_DELAY_SECONDS, DEFAULT_TIMEOUT_SECONDS } from '../../core/jobs/job.ts';
import { parseOrThrow } from '../../core/validation.ts';
import { ValidationError } from '../../core/errors.ts';

describe('job spec validation', () => {
  it('fills defaults for a minimal job', () => {
    expect(jobSpecSchema.parse({ command: ['echo', 'hi'] })).toEqual({
      command: ['echo', 'hi'],
      queue: 'default',
      env: {},
      timeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
      retryDelaySeconds: DEFAULT_RETRY_DELAY_SECONDS,
      resources: { gpus: 0, cpu: 1, memoryMiB: 1024 },
      priority: 0,
      imagePullPolicy: 'IfNotPresent',
      labels: {},
      artifacts: [],
      dependsOn: [],
    });
  });

  it.each(['busybox', 'busybox:1.36', 'ghcr.io/org/train:1.2', 'localhost:5000/a/b_c-d.e:tag', `pytorch/pytorch@sha256:${'a'.repeat(64)}`])(
    'accepts the image reference %s',
    (image) => {
      expect(jobSpecSchema.parse({ command: ['x'], image }).image).toBe(image);
    },
  );

  const rejected: [string, unknown, string][] = [
    ['missing command', {}, 'command'],
    ['workdir archive not a sha256 id', { command: ['x'], workdir: { archive: 'sha256:abc' } }, 'workdir.archive'],
    ['artifact glob climbing out', { command: ['x'], artifacts: ['../secrets/*'] }, 'artifacts.0'],
    ['absolute artifact glob', { command: ['x'], artifacts: ['/etc/passwd'] }, 'artifacts.0'],
    ['empty command', { command: [] }, 'command'],
    ['empty program', { command: [''] }, 'command'],
    ['non-string argument', { command: ['echo', 1] }, 'command.1'],
    ['NUL in argument', { command: ['echo', 'a\u0000b'] }, 'command.1'],
    ['command as a string', { command: 'echo hi' }, 'command'],
    ['bad queue name', { command: ['x'], queue: '../etc' }, 'queue'],
    ['bad env name', { command: ['x'], env: { '1BAD': 'v' } }, 'env.1BAD'],
    ['non-string env value', { command: ['x'], env: { A: 1 } }, 'env.A'],
    ['control character in name', { command: ['x'], name: 'a\nb' }, 'name'],
    ['image with an option', { command: ['x'], image: '--privileged' }, 'image'],
    ['image with a space', { command: ['x'], image: 'busybox latest' }, 'image'],
    ['image with upper-case path', { command: ['x'], image: 'Org/Image' }, 'image'],
    ['unknown pull policy', { command: ['x'], image: 'busybox', imagePullPolicy: 'Sometimes' }, 'imagePullPolicy'],
    ['name too long', { command: ['x'], name: 'n'.repeat(129) }, 'name'],
    ['zero timeout', { command: ['x'], timeoutSeconds: 0 }, 'timeoutSeconds'],
    ['fractional timeout', { command: ['x'], timeoutSeconds: 1.5 }, 'timeoutSeconds'],
    ['timeout as string', { command: ['x'], timeoutSeconds: '10' }, 'timeoutSeconds'],
    ['too many attempts', { command: ['x'], maxAttempts: 21 }, 'maxAttempts'],
    ['unknown retry condition', { command: ['x'], retryOn: ['SOMETIMES'] }, 'retryOn.0'],
    ['exit code out of range in retryOn', { command: ['x'], retryOn: [256] }, 'retryOn.0'],
    ['retry delay over the SQS maximum', { command: ['x'], retryDelaySeconds: 901 }, 'retryDelaySeconds'],
    ['negative gpus', { command: ['x'], resources: { gpus: -1 } }, 'resources.gpus'],
    ['unknown resource', { command: ['x'], resources: { tpus: 1 } }, 'resources'],
    ['bad label key', { command: ['x'], labels: { 'bad key': 'v' } }, 'labels.bad key'],
    ['control character in label', { command: ['x'], labels: { team: 'a\u0007' } }, 'labels.team'],
    ['unknown top-level field', { command: ['x'], comand: ['typo'] }, '(root)'],
    ['body is an array', [], '(root)'],
    ['body is null', null, '(root)'],
  ];

  it.each(rejected)('rejects %s, naming the field', (_name, body, path) => {
    try {
      parseOrThrow(jobSpecSchema, body, 'job');
      expect.unreachable('should have thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      const fields = (err as ValidationError).issues.map((i) => i.path);
      expect(fields).toContain(path);
    }
  });
});

describe('what a job inherits from its worker', () => {
  it('never the worker\'s credentials, endpoints or configuration', async () => {
    const { inheritedEnvironment } = await import('../../core/worker/job-environment.ts');
    const worker = {
      PATH: '/usr/bin',
      HOME: '/home/w',
      AWS_ACCESS_KEY_ID: 'AKIA',
      AWS_SECRET_ACCESS_KEY: 's',
      AWS_SESSION_TOKEN: 't',
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/uuid',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.2/x',
      AWS_CONTAINER_AUTHORIZATION_TOKEN: 'tok',
      ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/x',
      ECS_AGENT_URI: 'http://169.254.170.2/api/x',
      RUNPLANE_JOBS_TABLE: 'jobs',
      RUNPLANE_TOKEN: 'rp_x',
      NODE_OPTIONS: '--require /evil.js',
      CUDA_VISIBLE_DEVICES: '0,1',
    };
    expect(inheritedEnvironment(worker)).toEqual({ PATH: '/usr/bin', HOME: '/home/w' });
  });
});
