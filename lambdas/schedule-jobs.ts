/**
 * The scheduler (specs/11-scheduling.md decision 12): runs admission passes, the same
 * core/scheduling code the local platform runs in process. Two triggers:
 * - the kick queue (SQS event source): every submit, retry, released hold, raised priority,
 *   attempt end, joining worker and requeue sends `{"pool"}`; a batch runs one pass per pool named;
 * - an EventBridge schedule every minute (the safety net): a pass of every pool.
 * Passes of one pool never overlap: each runs under the pool's lease item, and a kick that finds
 * the lease held leaves a mark that makes its holder run one more pass.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createLeasedScheduler, type LeasedScheduler } from '../core/app/scheduler-dependencies.ts';
import { loadRuntimeConfig } from '../core/config.ts';
import { jsonLogger } from '../core/http/api-handler.ts';
import { newLeaseId } from '../core/ids.ts';
import { kickedPool } from '../core/scheduling/sqs-scheduler-kick.ts';

/** No pass starts with less than this left of the invocation: one pass is a few reads and writes. */
const DEADLINE_MARGIN_MS = 10_000;

let scheduler: LeasedScheduler | undefined;

export async function handler(event: Partial<SQSEvent> | Record<string, unknown>, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<SQSBatchResponse> {
  scheduler ??= createLeasedScheduler(loadRuntimeConfig(), { log: jsonLogger });
  const records = Array.isArray(event.Records) ? (event as SQSEvent).Records : null;
  // Kicks name their pool (unknown ones are dropped: a pool removed from the deployment); the schedule names none.
  const byPool = new Map<string, string[]>();
  for (const record of records ?? []) {
    const pool = kickedPool(record.body);
    if (pool === null || !scheduler.pools.includes(pool)) {
      jsonLogger('warn', 'dropped a kick for no known pool', { messageId: record.messageId });
      continue;
    }
    byPool.set(pool, [...(byPool.get(pool) ?? []), record.messageId]);
  }
  const pools = records ? [...byPool.keys()] : scheduler.pools;
  const deadlineMs = context ? Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS : undefined;
  const holder = newLeaseId();
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  const failed: string[] = [];
  await Promise.all(
    pools.map(async (pool) => {
      try {
        const run = await scheduler!.run(pool, holder, deadlineMs);
        const admitted = run.reports.reduce((n, r) => n + r.admitted.length, 0);
        jsonLogger('info', 'scheduling passes', { pool, outcome: run.outcome, passes: run.reports.length, admitted });
      } catch (err) {
        // The pool's kicks go back to the queue (retried); without kicks, the next schedule retries.
        jsonLogger('error', 'scheduling pass failed', { pool, error: String(err) });
        failed.push(pool);
        for (const id of byPool.get(pool) ?? []) batchItemFailures.push({ itemIdentifier: id });
      }
    }),
  );
  // A failed scheduled run fails the invocation, so the handler-errors alarm sees it.
  if (!records && failed.length > 0) throw new Error(`scheduling passes failed for pool(s) ${failed.join(', ')}`);
  return { batchItemFailures };
}
