/**
 * The Groups page's edit form: text fields to the body of `PUT /v1/groups/{group}`
 * (`{maxGpus?, maxRunningJobs?, weight?}`), with an error per field. An empty quota field means
 * "no quota" (null); the API stays the judge of everything else and its errors are shown too.
 */
export interface GroupSettingsForm {
  readonly maxGpus: string;
  readonly maxRunningJobs: string;
  readonly weight: string;
}

export interface GroupSettingsBody {
  readonly maxGpus: number | null;
  readonly maxRunningJobs: number | null;
  readonly weight: number;
}

export type GroupSettingsField = keyof GroupSettingsForm;

export function formOfGroup(group: { maxGpus: number | null; maxRunningJobs: number | null; weight: number }): GroupSettingsForm {
  return {
    maxGpus: group.maxGpus === null ? '' : String(group.maxGpus),
    maxRunningJobs: group.maxRunningJobs === null ? '' : String(group.maxRunningJobs),
    weight: String(group.weight),
  };
}

function quota(text: string): { value: number | null } | { error: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { value: null };
  if (!/^\d+$/.test(trimmed)) return { error: 'a whole number ≥ 0, or empty for no quota' };
  return { value: Number(trimmed) };
}

export function groupSettingsBody(form: GroupSettingsForm): {
  body: GroupSettingsBody | null;
  errors: Partial<Record<GroupSettingsField, string>>;
} {
  const errors: Partial<Record<GroupSettingsField, string>> = {};
  const maxGpus = quota(form.maxGpus);
  if ('error' in maxGpus) errors.maxGpus = maxGpus.error;
  const maxRunningJobs = quota(form.maxRunningJobs);
  if ('error' in maxRunningJobs) errors.maxRunningJobs = maxRunningJobs.error;
  const weight = Number(form.weight.trim());
  if (form.weight.trim() === '' || !Number.isFinite(weight) || weight <= 0) errors.weight = 'a number > 0 (1 is the default share)';
  if ('error' in maxGpus || 'error' in maxRunningJobs || errors.weight) return { body: null, errors };
  return { body: { maxGpus: maxGpus.value, maxRunningJobs: maxRunningJobs.value, weight }, errors };
}
