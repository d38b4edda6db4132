import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkerScaler } from '../../core/app/scaler-dependencies.ts';
import { DynamoDbAuditLog } from '../../core/audit/dynamodb-audit-log.ts';
import { DynamoDbGroupStore } from '../../core/groups/dynamodb-group-store.ts';
import { GroupQuotaCounters } from '../../core/groups/group-quota-counters.ts';
import { DynamoDbJobStore } from '../../core/jobs/dynamodb-store.ts';
import { AUDIT_TABLE, JOBS_TABLE, tableName } from '../../core/resources.ts';
import type { EcsWorkerScaler } from '../../core/scaling/ecs-scaler.ts';
import { createTestEnvironment, type TestEnvironment } from '../support/emulators.ts';
import { makeJob } from '../support/jobs.ts';

/**
 * The scaler over the real pending index, group items and pool queue (DynamoDB Local, fauxqs); ECS
 * itself is not emulated, so its two calls are answered by a mock that records UpdateService.
 */
describe('scaler: jobs held back by their group quota are no demand', () => {
  let env: TestEnvironment;
  let store: DynamoDbJobStore;
  let groups: DynamoDbGroupStore;
  let scaler: EcsWorkerScaler;
  const ecsMock = mockClient(ECSClient);
  const t0 = new Date('2026-03-01T00:00:00Z');

  beforeAll(async () => {
    env = await createTestEnvironment();
    const table = tableName(env.prefix, JOBS_TABLE);
    const audit = new DynamoDbAuditLog({ client: env.documentClient, tableName: tableName(env.prefix, AUDIT_TABLE) });
    groups = new DynamoDbGroupStore({ client: env.documentClient, tableName: table, audit });
    store = new DynamoDbJobStore({ client: env.documentClient, tableName: table, audit, counters: [new GroupQuotaCounters({ groups, tableName: table })] });
    scaler = createWorkerScaler(
      {
        region: 'us-east-1',
        sqsEndpoint: env.sqsEndpoint,
        dynamodbEndpoint: env.dynamoEndpoint,
        jobsTable: table,
        targets: [{ pool: 'default', cluster: 'c', service: 'default', queueUrl: env.queues[0]!.url, minTasks: 0, maxTasks: 4, maxJobsPerTask: 1, gpusPerTask: 0 }],
      },
      { ecs: new ECSClient({ region: 'us-east-1' }) },
    );
  }, 60_000);
  afterAll(async () => {
    ecsMock.restore();
    await env?.cleanup();
  });

  const pending = async (group: string, gpus = 0) => {
    const job = makeJob({ group, queue: 'default', resources: { gpus, cpu: 1, memoryMiB: 64 } });
    await store.createJob(job);
    return job;
  };

  // Break verified: without the group states (`groups` left out of createWorkerScaler), the capped backlog scales out to 3.
  it('a backlog blocked only by its quota asks for no instance; another group\'s backlog does', async () => {
    ecsMock.on(DescribeServicesCommand).resolves({ services: [{ serviceName: 'default', status: 'ACTIVE', desiredCount: 0, runningCount: 0 }] }).on(UpdateServiceCommand).resolves({});
    // Group "capped" may run one job, and runs it (on another pool's worker): its quota is spent.
    await groups.updateSettings('capped', { maxRunningJobs: 1 }, 'admin', t0);
    const running = makeJob({ group: 'capped', queue: 'elsewhere' });
    await store.createJob(running);
    await store.claimAttempt({ jobId: running.id, group: 'capped', workerId: 'w', leaseId: 'l', leaseExpiresAt: Date.now() + 600_000, expectedAttempt: 0, now: new Date(), job: running });
    for (let i = 0; i < 3; i++) await pending('capped');
    // The pool is at zero and only quota-blocked jobs wait: it stays at zero.
    expect(await scaler.scalePool('default')).toMatchObject({ action: 'hold', desiredTasks: 0, updated: false });
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    // One job of a group with room: one task, for it alone (the capped backlog still adds none).
    await pending('free');
    const outcome = await scaler.scalePool('default');
    expect(outcome).toMatchObject({ action: 'scale-out', desiredTasks: 1, updated: true });
    expect(outcome.reason).toMatch(/pendingJobs=1 .*quotaBlocked=3/);
    expect(ecsMock.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([{ cluster: 'c', service: 'default', desiredCount: 1 }]);
    // The quota frees (the running job's limit raised): the capped backlog is demand again.
    await groups.updateSettings('capped', { maxRunningJobs: 10 }, 'admin', t0);
    ecsMock.on(DescribeServicesCommand).resolves({ services: [{ serviceName: 'default', status: 'ACTIVE', desiredCount: 1, runningCount: 1 }] });
    expect(await scaler.scalePool('default')).toMatchObject({ action: 'scale-out', desiredTasks: 4 });
  }, 60_000);
});
