import { ConfigError } from '../core/config.ts';
import { workerScalerFromEnv, type ScalingOutcome } from '../core/scaling/ecs-scaler.ts';

/**
 * Scheduled every minute by EventBridge: sets each worker pool's ECS desired count from its queue
 * backlog (core/scaling/policy.ts). Config is read at cold start so a bad deployment fails on the
 * first invocation with the variable's name.
 */
const scaler =
  workerScalerFromEnv() ??
  (() => {
    throw new ConfigError('invalid Runplane scaling configuration: RUNPLANE_SCALING is not set');
  })();

export async function handler(): Promise<{ pools: ScalingOutcome[] }> {
  // An AggregateError fails the invocation: Lambda's error metric feeds the handler-errors alarm.
  return { pools: await scaler.scaleAll() };
}
