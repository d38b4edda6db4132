import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/config.ts';
import { DependencyError, UnknownQueueError } from '../../core/errors.ts';
import { loadScalingConfig, loadScalingTargets, type ScalingTarget } from '../../core/scaling/config.ts';
import { EcsWorkerScaler } from '../../core/scaling/ecs-scaler.ts';
import type { PendingBacklog, PoolScaling } from '../../core/scaling/pool-scaling.ts';
import { createWorkerScaler } from '../../core/app/scaler-dependencies.ts';

const sqsMock = mockClient(SQSClient);
const ecsMock = mockClient(ECSClient);

const queueUrl = (pool: string) => `https://sqs.us-east-1.amazonaws.com/123456789012/runplane-${pool}`;
const targets: ScalingTarget[] = [
  { pool: 'default', cluster: 'runplane', service: 'runplane-default', queueUrl: queueUrl('default'), minTasks: 0, maxTasks: 10, maxJobsPerTask: 2, gpusPerTask: 0 },
  { pool: 'gpu', cluster: 'runplane', service: 'runplane-gpu', queueUrl: queueUrl('gpu'), minTasks: 0, maxTasks: 4, maxJobsPerTask: 1, gpusPerTask: 1 },
];

function backlog(pool: string, visible: number, notVisible: number, delayed = 0) {
  sqsMock.on(GetQueueAttributesCommand, { QueueUrl: queueUrl(pool) }).resolves({
    Attributes: {
      ApproximateNumberOfMessages: String(visible),
      ApproximateNumberOfMessagesNotVisible: String(notVisible),
      ApproximateNumberOfMessagesDelayed: String(delayed),
    },
  });
}

function service(name: string, desiredCount: number, runningCount: number) {
  ecsMock
    .on(DescribeServicesCommand, { services: [name] })
    .resolves({ services: [{ serviceName: name, status: 'ACTIVE', desiredCount, runningCount, pendingCount: desiredCount - runningCount }], failures: [] });
}

describe('EcsWorkerScaler', () => {
  let logs: Record<string, unknown>[];
  let scaler: EcsWorkerScaler;

  beforeEach(() => {
    sqsMock.reset();
    ecsMock.reset();
    ecsMock.on(UpdateServiceCommand).resolves({});
    logs = [];
    scaler = new EcsWorkerScaler({ sqs: new SQSClient({}), ecs: new ECSClient({}), targets, log: (e) => logs.push(e) });
  });

  it('starts a pool from zero when a job waits, reading the three backlog counters', async () => {
    backlog('gpu', 1, 0);
    service('runplane-gpu', 0, 0);
    const outcome = await scaler.scalePool('gpu');
    expect(outcome).toMatchObject({ pool: 'gpu', action: 'scale-out', desiredTasks: 1, updated: true });
    expect(sqsMock.commandCalls(GetQueueAttributesCommand)[0]!.args[0].input).toEqual({
      QueueUrl: queueUrl('gpu'),
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    });
    expect(ecsMock.commandCalls(DescribeServicesCommand)[0]!.args[0].input).toEqual({ cluster: 'runplane', services: ['runplane-gpu'] });
    expect(ecsMock.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: 'runplane', service: 'runplane-gpu', desiredCount: 1 },
    ]);
    expect(logs).toEqual([expect.objectContaining({ msg: 'worker pool scaled', pool: 'gpu', action: 'scale-out' })]);
  });

  it('does not call UpdateService when the count is already right', async () => {
    backlog('default', 3, 1);
    service('runplane-default', 2, 2);
    expect(await scaler.scalePool('default')).toMatchObject({ action: 'hold', desiredTasks: 2, updated: false });
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it('scales a drained pool to zero', async () => {
    backlog('default', 0, 0);
    service('runplane-default', 3, 3);
    expect(await scaler.scalePool('default')).toMatchObject({ action: 'scale-in', desiredTasks: 0 });
    expect(ecsMock.commandCalls(UpdateServiceCommand)[0]!.args[0].input).toMatchObject({ desiredCount: 0 });
  });

  it('on the submit path, counts the job just sent and never scales in', async () => {
    backlog('gpu', 0, 0); // the counters have not caught up with the send yet
    service('runplane-gpu', 0, 0);
    expect(await scaler.scalePool('gpu', { pendingMessages: 1, allowScaleIn: false })).toMatchObject({ desiredTasks: 1, updated: true });
    backlog('gpu', 0, 0);
    service('runplane-gpu', 3, 3);
    expect(await scaler.scalePool('gpu', { pendingMessages: 1, allowScaleIn: false })).toMatchObject({ action: 'hold', desiredTasks: 3 });
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(1);
  });

  it('counts the pool\'s pending jobs (no message yet) as demand, and posts each decision', async () => {
    const posted: PoolScaling[] = [];
    const backlogOf = (jobs: number): PendingBacklog => new Map(jobs > 0 ? [['g', Array<number>(jobs).fill(1)]] : []);
    const pending = new Map([['gpu', backlogOf(3)], ['default', backlogOf(0)]]);
    const withPending = new EcsWorkerScaler({
      sqs: new SQSClient({}),
      ecs: new ECSClient({}),
      targets,
      pending: { read: async (pool) => pending.get(pool)! },
      statuses: { read: async () => undefined, write: async (s) => void posted.push(s) },
      clock: () => new Date('2026-06-01T00:00:00.000Z'),
      log: () => undefined,
    });
    // An empty queue: the scheduler admits nothing onto a pool at zero, so only pending jobs say it is needed.
    backlog('gpu', 0, 0);
    service('runplane-gpu', 0, 0);
    expect(await withPending.scalePool('gpu')).toMatchObject({ action: 'scale-out', desiredTasks: 3, updated: true });
    // One admitted and running, two still pending (their workers are starting): three tasks, no more.
    pending.set('gpu', backlogOf(2));
    backlog('gpu', 0, 1);
    service('runplane-gpu', 3, 3);
    expect(await withPending.scalePool('gpu')).toMatchObject({ action: 'hold', desiredTasks: 3 });
    backlog('default', 0, 0);
    service('runplane-default', 2, 2);
    expect(await withPending.scalePool('default')).toMatchObject({ action: 'scale-in', desiredTasks: 0 });
    expect(posted).toEqual([
      { pool: 'gpu', desiredTasks: 3, runningTasks: 0, at: '2026-06-01T00:00:00.000Z' },
      { pool: 'gpu', desiredTasks: 3, runningTasks: 3, at: '2026-06-01T00:00:00.000Z' },
      { pool: 'default', desiredTasks: 0, runningTasks: 2, at: '2026-06-01T00:00:00.000Z' },
    ]);
  });

  it('refuses a pool it does not manage', async () => {
    await expect(scaler.scalePool('tpu')).rejects.toBeInstanceOf(UnknownQueueError);
  });

  it.each([
    ['SQS fails', () => sqsMock.on(GetQueueAttributesCommand).rejects(new Error('throttled')), 'sqs'],
    ['ECS cannot find the service', () => ecsMock.on(DescribeServicesCommand).resolves({ services: [], failures: [{ reason: 'MISSING' }] }), 'ecs'],
    ['UpdateService fails', () => ecsMock.on(UpdateServiceCommand).rejects(new Error('AccessDenied')), 'ecs'],
    ['SQS returns a malformed counter', () => sqsMock.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: 'many' } }), 'sqs'],
  ])('translates a failure into DependencyError when %s', async (_case, arrange, dependency) => {
    backlog('gpu', 1, 0);
    service('runplane-gpu', 0, 0);
    arrange();
    const err = await scaler.scalePool('gpu').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyError);
    expect((err as DependencyError).dependency).toBe(dependency);
  });

  it('scales every pool, and a failing pool does not stop the others', async () => {
    backlog('default', 4, 0);
    service('runplane-default', 0, 0);
    sqsMock.on(GetQueueAttributesCommand, { QueueUrl: queueUrl('gpu') }).rejects(new Error('boom'));
    const err = await scaler.scaleAll().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AggregateError);
    expect((err as AggregateError).message).toBe('scaling failed for pool(s) gpu');
    expect(ecsMock.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: 'runplane', service: 'runplane-default', desiredCount: 2 },
    ]);
  });

  it('returns every pool outcome when all succeed', async () => {
    backlog('default', 0, 0);
    service('runplane-default', 0, 0);
    backlog('gpu', 2, 0);
    service('runplane-gpu', 1, 1);
    const outcomes = await scaler.scaleAll();
    expect(outcomes.map((o) => [o.pool, o.action, o.desiredTasks])).toEqual([
      ['default', 'hold', 0],
      ['gpu', 'scale-out', 2],
    ]);
  });
});

describe('scaling configuration', () => {
  const queues = JSON.stringify(
    ['default', 'gpu'].map((pool) => ({ pool, url: queueUrl(pool), deadLetterUrl: `${queueUrl(pool)}-dlq` })),
  );
  const scaling = JSON.stringify(targets.map(({ queueUrl: _u, ...rest }) => rest));

  it('joins each pool with its queue URL', () => {
    expect(loadScalingTargets({ RUNPLANE_QUEUES: queues, RUNPLANE_SCALING: scaling })).toEqual(targets);
  });

  it.each([
    ['a missing variable', { RUNPLANE_QUEUES: queues }, 'RUNPLANE_SCALING'],
    ['malformed JSON', { RUNPLANE_QUEUES: queues, RUNPLANE_SCALING: '[' }, 'RUNPLANE_SCALING: must be a JSON array'],
    ['a pool without a queue', { RUNPLANE_QUEUES: queues, RUNPLANE_SCALING: JSON.stringify([{ ...JSON.parse(scaling)[0], pool: 'tpu' }]) }, 'pool "tpu" has no queue'],
    ['an unknown field', { RUNPLANE_QUEUES: queues, RUNPLANE_SCALING: JSON.stringify([{ ...JSON.parse(scaling)[0], maxJobs: 1 }]) }, 'RUNPLANE_SCALING.0'],
  ])('fails fast on %s, naming the variable', (_case, env, message) => {
    expect(() => loadScalingTargets(env)).toThrow(ConfigError);
    expect(() => loadScalingTargets(env)).toThrow(message);
  });

  it('reads the whole scaler configuration, validated: region, endpoint and the pools', () => {
    const config = loadScalingConfig({ RUNPLANE_QUEUES: queues, RUNPLANE_SCALING: scaling, AWS_REGION: 'eu-west-1' });
    expect(config.region).toBe('eu-west-1');
    expect(config.targets.map((t) => t.pool)).toEqual(['default', 'gpu']);
    expect(createWorkerScaler(config).pools).toEqual(['default', 'gpu']);
    expect(() => loadScalingConfig({ RUNPLANE_QUEUES: queues, RUNPLANE_SCALING: scaling, RUNPLANE_SQS_ENDPOINT: 'not a url' })).toThrow(/RUNPLANE_SQS_ENDPOINT/);
  });
});
