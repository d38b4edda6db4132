import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateQueueCommand, GetQueueAttributesCommand, ListQueuesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSqsClientFor } from '../../core/app/sqs-clients.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';

/**
 * The local platform's maintenance runs the stale-inbox sweep (specs/11-scheduling.md, decision
 * 21): an inbox of one of its pools that no live worker names is deleted; the pool's own queue
 * and DLQ are not inboxes and stay. (test/integration/worker-inboxes.test.ts covers a killed worker.)
 */
describe('local platform: abandoned inboxes', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'runplane-inboxes-'));
  let platform: LocalPlatform;

  beforeAll(async () => {
    platform = await startLocalPlatform({
      inMemory: true,
      port: 0,
      workers: 0,
      dataDir,
      maintenanceIntervalSeconds: 1,
      inboxAbandonedAfterMs: 2_000,
      log: () => undefined,
    });
  }, 120_000);
  afterAll(async () => {
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  // Break verified: with the platform's deleteAbandonedInboxes call removed, the inbox is still listed after 60 s.
  it('deletes an inbox of its pool that no worker names, and nothing else', async () => {
    const sqs = createSqsClientFor(platform.config);
    const pool = platform.config.queues.find((q) => q.pool === 'default')!;
    const poolName = pool.url.slice(pool.url.lastIndexOf('/') + 1);
    // What a worker killed outright leaves: its inbox, named as openInbox names them.
    const leftover = (await sqs.send(new CreateQueueCommand({ QueueName: `${poolName}-inbox-0123456789abcdef` }))).QueueUrl!;
    const listed = async () => (await sqs.send(new ListQueuesCommand({ QueueNamePrefix: poolName }))).QueueUrls ?? [];
    expect(await listed()).toContain(leftover);
    await vi.waitFor(async () => expect(await listed()).not.toContain(leftover), { timeout: 60_000, interval: 250 });
    for (const url of [pool.url, pool.deadLetterUrl]) {
      await expect(sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).resolves.toBeDefined();
    }
  }, 120_000);
});
