import { describe, expect, it } from 'vitest';
import { ConfigError, type RuntimeConfig } from '../../core/config.ts';
import { loadWorkerConfig, loadWorkerPricing } from '../../core/worker/worker-config.ts';

const runtime = {
  queues: [{ pool: 'gpu', url: 'u', deadLetterUrl: 'd', visibilityTimeoutSeconds: 60, maxReceiveCount: 5, defaultMaxAttempts: 1 }],
} as unknown as RuntimeConfig;

describe('worker configuration', () => {
  it('reads the defaults and the pool', () => {
    expect(loadWorkerConfig(runtime, { RUNPLANE_WORKER_QUEUE: 'gpu' })).toEqual({ queue: runtime.queues[0], drainSeconds: 90, idleExitSeconds: 600, pricing: {} });
    expect(
      loadWorkerConfig(runtime, { RUNPLANE_WORKER_QUEUE: 'gpu', RUNPLANE_WORKER_CONCURRENCY: '4', RUNPLANE_WORKER_IDLE_EXIT_SECONDS: '0', RUNPLANE_WORKER_WORKDIR: '/scratch' }),
    ).toMatchObject({ concurrency: 4, idleExitSeconds: 0, workDir: '/scratch' });
  });

  it('reads the instance pricing the stack sets', () => {
    expect(
      loadWorkerConfig(runtime, { RUNPLANE_WORKER_QUEUE: 'gpu', RUNPLANE_PRICE_PER_INSTANCE_HOUR: '1.006', RUNPLANE_INSTANCE_GPUS: '1', RUNPLANE_INSTANCE_VCPUS: '4' }).pricing,
    ).toEqual({ usdPerInstanceHour: 1.006, gpus: 1, vcpus: 4 });
    expect(loadWorkerPricing({ RUNPLANE_PRICE_PER_INSTANCE_HOUR: '' })).toEqual({});
  });

  it.each([
    ['no queue', {}, 'RUNPLANE_WORKER_QUEUE'],
    ['an unknown pool', { RUNPLANE_WORKER_QUEUE: 'tpu' }, 'must name one of: gpu'],
    ['a concurrency that is not a number', { RUNPLANE_WORKER_QUEUE: 'gpu', RUNPLANE_WORKER_CONCURRENCY: 'many' }, 'RUNPLANE_WORKER_CONCURRENCY'],
    ['a zero concurrency', { RUNPLANE_WORKER_QUEUE: 'gpu', RUNPLANE_WORKER_CONCURRENCY: '0' }, 'RUNPLANE_WORKER_CONCURRENCY'],
    ['a negative drain', { RUNPLANE_WORKER_QUEUE: 'gpu', RUNPLANE_WORKER_DRAIN_SECONDS: '-1' }, 'RUNPLANE_WORKER_DRAIN_SECONDS'],
    ['a price that is not a number', { RUNPLANE_WORKER_QUEUE: 'gpu', RUNPLANE_PRICE_PER_INSTANCE_HOUR: 'cheap' }, 'RUNPLANE_PRICE_PER_INSTANCE_HOUR'],
    ['a negative price', { RUNPLANE_WORKER_QUEUE: 'gpu', RUNPLANE_PRICE_PER_INSTANCE_HOUR: '-1' }, 'RUNPLANE_PRICE_PER_INSTANCE_HOUR'],
  ])('refuses %s, naming the variable', (_case, env, message) => {
    expect(() => loadWorkerConfig(runtime, env)).toThrow(ConfigError);
    expect(() => loadWorkerConfig(runtime, env)).toThrow(message);
  });
});
