import * as z from 'zod';

/** Most GPUs or running jobs a quota may name (far above any pool; it bounds typos, not use). */
export const MAX_GROUP_QUOTA = 100_000;
export const MAX_GROUP_WEIGHT = 1_000;

/**
 * The body of `PUT /v1/groups/{group}`. Omitted fields keep their value; `null` removes a quota.
 * At least one field: an empty body is more likely a mistake than a request to change nothing.
 */
export const groupSettingsSchema = z
  .strictObject({
    maxGpus: z.number().int().min(0).max(MAX_GROUP_QUOTA).nullable().optional(),
    maxRunningJobs: z.number().int().min(0).max(MAX_GROUP_QUOTA).nullable().optional(),
    weight: z.number().positive('must be greater than 0').max(MAX_GROUP_WEIGHT).optional(),
  })
  .refine((s) => s.maxGpus !== undefined || s.maxRunningJobs !== undefined || s.weight !== undefined, {
    message: 'name at least one of maxGpus, maxRunningJobs, weight',
  });
export type GroupSettingsInput = z.input<typeof groupSettingsSchema>;
export type GroupSettingsChange = z.output<typeof groupSettingsSchema>;

/** A group's settings as stored: null quotas are unlimited. */
export interface GroupSettings {
  readonly maxGpus: number | null;
  readonly maxRunningJobs: number | null;
  readonly weight: number;
}

export const DEFAULT_GROUP_SETTINGS: GroupSettings = { maxGpus: null, maxRunningJobs: null, weight: 1 };

/** A group as stored: its settings, what its RUNNING attempts hold, and its usage buckets. */
export interface GroupRecord extends GroupSettings {
  readonly name: string;
  /** Bumped by every settings change; a quota take is conditional on it (the limits it read). */
  readonly settingsVersion: number;
  readonly runningGpus: number;
  readonly runningJobs: number;
  /** Decayed GPU-seconds buckets (core/groups/decayed-usage.ts), attribute name → value. */
  readonly usage: readonly (readonly [string, number])[];
  readonly updatedAt: string | null;
  readonly updatedBy: string | null;
}

export function defaultGroupRecord(name: string): GroupRecord {
  return {
    name,
    ...DEFAULT_GROUP_SETTINGS,
    settingsVersion: 0,
    runningGpus: 0,
    runningJobs: 0,
    usage: [],
    updatedAt: null,
    updatedBy: null,
  };
}

/** The public JSON shape of a group (GET/PUT /v1/groups). */
export interface GroupView {
  readonly name: string;
  readonly maxGpus: number | null;
  readonly maxRunningJobs: number | null;
  readonly weight: number;
  readonly runningGpus: number;
  readonly runningJobs: number;
  /** GPU-seconds of finished holdings, exponentially decayed to the time of the request. */
  readonly recentGpuSeconds: number;
}

/** The settings after applying `change` to `current`. */
export function applySettingsChange(current: GroupSettings, change: GroupSettingsChange): GroupSettings {
  return {
    maxGpus: change.maxGpus === undefined ? current.maxGpus : change.maxGpus,
    maxRunningJobs: change.maxRunningJobs === undefined ? current.maxRunningJobs : change.maxRunningJobs,
    weight: change.weight ?? current.weight,
  };
}
