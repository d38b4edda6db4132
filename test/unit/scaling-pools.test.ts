import { describe, expect, it } from 'vitest';
import { WORKER_POOLS, defineWorkerPools, poolQueueDefinition, type WorkerPoolInput } from '../../core/pools.ts';
import { DEFAULT_QUEUES, QUEUE_DEFAULTS } from '../../core/resources.ts';

const pool: WorkerPoolInput = {
  name: 'gpu-a100',
  instanceType: 'p4d.24xlarge',
  gpusPerInstance: 8,
  minInstances: 0,
  maxInstances: 2,
  capacity: 'on-demand',
  maxJobsPerTask: 8,
  taskCpuUnits: 94_208,
  taskMemoryReservationMiB: 1_000_000,
};

describe('worker pools', () => {
  it('deploys exactly the pools the local platform has queues for', () => {
    expect(WORKER_POOLS.map((p) => p.name)).toEqual(DEFAULT_QUEUES.map((q) => q.pool));
  });

  it('scales every default pool to zero and gives the GPU pool one GPU on spot', () => {
    expect(WORKER_POOLS.every((p) => p.minInstances === 0)).toBe(true);
    expect(WORKER_POOLS.find((p) => p.name === 'gpu')).toMatchObject({ instanceType: 'g5.xlarge', gpusPerInstance: 1, capacity: 'spot' });
  });

  it('fills defaults', () => {
    const [parsed] = defineWorkerPools([pool]);
    expect(parsed).toMatchObject({ alternativeInstanceTypes: [], idleExitSeconds: 600, queue: {} });
  });

  it.each<[string, WorkerPoolInput[], string]>([
    ['a bad pool name', [{ ...pool, name: 'GPU!' }], '0.name'],
    ['min above max', [{ ...pool, minInstances: 3 }], '0.minInstances'],
    ['a malformed instance type', [{ ...pool, instanceType: 'p4d' }], '0.instanceType'],
    ['a repeated instance type', [{ ...pool, alternativeInstanceTypes: ['p4d.24xlarge'] }], '0.alternativeInstanceTypes'],
    ['an unknown field', [{ ...pool, spot: true } as WorkerPoolInput], 'spot'],
    ['duplicate names', [pool, pool], 'pool names must be unique'],
    ['no pools', [], '(pools)'],
  ])('rejects %s', (_case, pools, message) => {
    expect(() => defineWorkerPools(pools)).toThrow(message);
  });

  it('takes queue settings from the shared definition, with the pool overrides applied', () => {
    expect(poolQueueDefinition(WORKER_POOLS[0]!)).toEqual(DEFAULT_QUEUES[0]);
    const [custom] = defineWorkerPools([{ ...pool, queue: { visibilityTimeoutSeconds: 300 } }]);
    expect(poolQueueDefinition(custom!)).toEqual({ ...QUEUE_DEFAULTS, pool: 'gpu-a100', visibilityTimeoutSeconds: 300 });
  });
});
