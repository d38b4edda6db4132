/**
 * Slurm's `--array` and `--dependency` syntax, as users already type it, turned into the bodies
 * `POST /v1/jobs` takes (`array`, `dependsOn`). Pure, so the submit form can show what it sends.
 */

/** The API's largest array (core/ids.ts MAX_ARRAY_SIZE) and largest task id. */
export const MAX_ARRAY_SIZE = 10_000;
const MAX_TASK_ID = 4_000_000;

export interface ArrayRequest {
  readonly size: number;
  readonly parallelism?: number;
  /** Only when the task ids are not simply 0..size-1. */
  readonly indices?: readonly number[];
}

export type Parsed<T> = { readonly value: T } | { readonly error: string };

/**
 * `0-99%8` → `{size: 100, parallelism: 8}`; `1,3,5-7` → `{size: 5, indices: [1,3,5,6,7]}`;
 * `0-15:4` → every 4th id. Ids are sorted and each kept once, as Slurm does.
 */
export function parseSlurmArray(text: string): Parsed<ArrayRequest> {
  const trimmed = text.trim();
  if (!trimmed) return { error: 'write task ids, e.g. 0-99%8' };
  const [list = '', throttle, extra] = trimmed.split('%');
  if (extra !== undefined) return { error: 'one %parallelism at most' };
  let parallelism: number | undefined;
  if (throttle !== undefined) {
    if (!/^\d+$/.test(throttle) || Number(throttle) < 1) return { error: `%${throttle}: parallelism must be a whole number ≥ 1` };
    parallelism = Number(throttle);
  }
  const ids = new Set<number>();
  for (const part of list.split(',')) {
    const match = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!match) return { error: `"${part.trim()}": write N, N-M or N-M:STEP` };
    const start = Number(match[1]);
    const end = match[2] === undefined ? start : Number(match[2]);
    const step = match[3] === undefined ? 1 : Number(match[3]);
    if (end < start) return { error: `${part.trim()}: the range ends before it starts` };
    if (step < 1) return { error: `${part.trim()}: the step must be ≥ 1` };
    if (end > MAX_TASK_ID) return { error: `task ids go up to ${MAX_TASK_ID}` };
    // Counted before expanding, so "0-4000000" is refused without building a huge list.
    if (ids.size + Math.floor((end - start) / step) + 1 > MAX_ARRAY_SIZE) return { error: `at most ${MAX_ARRAY_SIZE} tasks` };
    for (let id = start; id <= end; id += step) ids.add(id);
  }
  const indices = [...ids].sort((a, b) => a - b);
  const plain = indices.every((id, i) => id === i);
  return {
    value: {
      size: indices.length,
      ...(parallelism !== undefined ? { parallelism } : {}),
      ...(plain ? {} : { indices }),
    },
  };
}

export const DEPENDENCY_TYPE_NAMES = ['afterok', 'afterany', 'afternotok', 'aftercorr'] as const;

export interface DependencyRequest {
  readonly job: string;
  readonly type: (typeof DEPENDENCY_TYPE_NAMES)[number];
}

/**
 * `afterok:ID:ID,afterany:ID` → `[{job, type}]`. A bare id means `afterok` (the common case).
 * Slurm's `?` (any of) is refused: the API only has "all of".
 */
export function parseSlurmDependency(text: string): Parsed<DependencyRequest[]> {
  const trimmed = text.trim();
  if (!trimmed) return { value: [] };
  if (trimmed.includes('?')) return { error: 'Slurm\'s "?" (any of) is not supported: every dependency must hold' };
  const out: DependencyRequest[] = [];
  for (const part of trimmed.split(/[,\s]+/).filter(Boolean)) {
    const [first = '', ...rest] = part.split(':');
    const typed = (DEPENDENCY_TYPE_NAMES as readonly string[]).includes(first);
    if (!typed && rest.length > 0) return { error: `"${first}": the types are ${DEPENDENCY_TYPE_NAMES.join(', ')}` };
    const type = (typed ? first : 'afterok') as DependencyRequest['type'];
    const jobs = typed ? rest : [first];
    if (jobs.length === 0 || jobs.some((j) => !j)) return { error: `"${part}": name a job id after ${type}:` };
    for (const job of jobs) {
      if (!out.some((d) => d.job === job && d.type === type)) out.push({ job, type });
    }
  }
  return { value: out };
}
