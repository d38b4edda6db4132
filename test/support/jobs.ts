import type { Job } from '../../core/jobs/job.ts';
import { newJobId } from '../../core/ids.ts';

/** A QUEUED job record as submit would create it, with overrides. */
export function makeJob(overrides: Partial<Job> = {}): Job {
  const createdAt = new Date('2026-01-01T00:00:00Z').toISOString();
  return {
    id: newJobId(),
    name: null,
    group: 'default',
    owner: 'tester',
    state: 'QUEUED',
    queue: 'default',
    command: ['echo', 'hi'],
    env: {},
    timeoutSeconds: 60,
    maxAttempts: 1,
    retryOn: ['NONZERO', 'WORKER_LOST'],
    retryDelaySeconds: 10,
    retryAt: null,
    dispatched: false,
    priority: 0,
    admittedAt: null,
    image: null,
    imagePullPolicy: 'IfNotPresent',
    resources: { gpus: 0, cpu: 1, memoryMiB: 1024 },
    labels: {},
    workdir: null,
    artifacts: [],
    attempt: 0,
    exitCode: null,
    reason: null,
    reasonCode: null,
    dependsOn: [],
    hold: null,
    createdAt,
    startedAt: null,
    finishedAt: null,
    cancelRequested: false,
    cancelRequestedBy: null,
    lease: null,
    holdings: [],
    array: null,
    arrayChild: null,
    history: [{ at: createdAt, from: null, to: 'QUEUED', reason: 'submitted by tester' }],
    attempts: [],
    ...overrides,
  };
}
