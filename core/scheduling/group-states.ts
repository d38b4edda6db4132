/**
 * What the scheduler needs to know about a group to share a queue's capacity: its fair-share weight,
 * its quotas and what it holds now, and its recent usage. The scheduler reads it through this port;
 * the group store (core/groups) implements it. A group with no stored settings has weight 1 and no
 * quotas.
 */
export interface GroupSchedulingState {
  readonly name: string;
  /** Fair-share weight (> 0): a group with weight 3 is entitled to three times a weight-1 group's share. */
  readonly weight: number;
  /** Null: no quota. */
  readonly maxGpus: number | null;
  readonly maxRunningJobs: number | null;
  /** GPUs and jobs its RUNNING attempts hold now (the quota counters). */
  readonly runningGpus: number;
  readonly runningJobs: number;
  /** GPU-seconds of finished holdings, exponentially decayed to `now` (half-life configurable, default 24 h). */
  readonly decayedGpuSeconds: number;
}

export interface GroupStates {
  /** The named groups' states at `now` (every name answered; unknown groups get the defaults). */
  get(names: readonly string[], now: Date): Promise<Map<string, GroupSchedulingState>>;
}

/** The state of a group nobody configured. */
export function defaultGroupState(name: string): GroupSchedulingState {
  return { name, weight: 1, maxGpus: null, maxRunningJobs: null, runningGpus: 0, runningJobs: 0, decayedGpuSeconds: 0 };
}

/** Every group at its defaults: the scheduler's port when no group store is configured. */
export const DEFAULT_GROUP_STATES: GroupStates = {
  async get(names) {
    return new Map(names.map((n) => [n, defaultGroupState(n)]));
  },
};
