import { createWorkerScaler } from '../core/app/scaler-dependencies.ts';
import { loadScalingConfig } from '../core/scaling/config.ts';
import type { ScalingOutcome } from '../core/scaling/ecs-scaler.ts';

/**
 * Scheduled every minute by EventBridge: sets each worker pool's ECS desired count from its queue
 * backlog (core/scaling/policy.ts). Config is read and validated at cold start so a bad deployment
 * fails on the first invocation with the variable's name.
 */
const scaler = createWorkerScaler(loadScalingConfig());

export async function handler(): Promise<{ pools: ScalingOutcome[] }> {
  // An AggregateError fails the invocation: Lambda's error metric feeds the handler-errors alarm.
  return { pools: await scaler.scaleAll() };
}
