/**
 * Subscribed to every pool's DLQ (SQS event source, ReportBatchItemFailures): fails the jobs of
 * dead-lettered messages with a reason, or recovers a lost worker's attempt (core/maintenance),
 * whose retry goes back through admission (the scheduler's kick in AWS). A record that fails is
 * reported back so SQS retries only that one.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { loadRuntimeConfig } from '../core/config.ts';
import { createWorkerDependencies } from '../core/app/worker-dependencies.ts';
import { jsonLogger } from '../core/http/api-handler.ts';
import { handleDeadLetter } from '../core/maintenance/maintenance.ts';

let deps: Parameters<typeof handleDeadLetter>[0] | undefined;

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  if (!deps) {
    const { store, dispatcher } = createWorkerDependencies(loadRuntimeConfig());
    deps = { store, jobs: dispatcher };
  }
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      const jobId = parseJobId(record.body);
      const outcome = await handleDeadLetter(deps, { jobId, receiveCount: Number(record.attributes.ApproximateReceiveCount ?? '0') });
      jsonLogger('warn', 'dead letter handled', { jobId, outcome, messageId: record.messageId });
    } catch (err) {
      jsonLogger('error', 'dead letter failed', { messageId: record.messageId, error: String(err) });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}

function parseJobId(body: string): string {
  try {
    const parsed = JSON.parse(body) as { jobId?: unknown };
    return typeof parsed.jobId === 'string' ? parsed.jobId : '';
  } catch {
    return '';
  }
}
