/**
 * `runplane submit --array`, in Slurm's `sbatch --array` syntax: indices `5`, ranges `0-99`, steps
 * `0-15:4`, lists `1,3,5-7`, and `%K` for at most K children at once.
 *
 * The index set becomes the job spec's `array`: 0..N-1 is `{size: N}`; any other set is
 * `{size: N, indices: [...]}`, whose children are still `<id>-0 … <id>-<N-1>` with
 * RUNPLANE_ARRAY_INDEX the position, and RUNPLANE_ARRAY_TASK_ID the index from the set (Slurm's
 * SLURM_ARRAY_TASK_ID). As in Slurm, `--array 5` is the one index 5; `--array 0-4` is five children.
 */
import { InvalidArgumentError } from 'commander';
import { MAX_ARRAY_SIZE } from '../core/ids.ts';

export interface ArrayOption {
  readonly size: number;
  readonly parallelism?: number;
  readonly indices?: number[];
}

const MAX_INDEX = 4_000_000;
const PART = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/;

export function parseArrayOption(raw: string): ArrayOption {
  const [set, throttle, extra] = raw.trim().split('%');
  if (extra !== undefined || !set) throw new InvalidArgumentError('Expected INDICES[%K], e.g. 0-99%8 or 1,3,5-7.');
  const indices = new Set<number>();
  for (const part of set.split(',')) {
    const m = PART.exec(part);
    if (!m) throw new InvalidArgumentError(`"${part}" is not an index, a range A-B or a stepped range A-B:S.`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    if (to < from) throw new InvalidArgumentError(`range "${part}" ends before it starts.`);
    if (step < 1) throw new InvalidArgumentError(`step of "${part}" must be at least 1.`);
    if (to > MAX_INDEX) throw new InvalidArgumentError(`indices go up to ${MAX_INDEX}.`);
    for (let i = from; i <= to; i += step) {
      indices.add(i);
      if (indices.size > MAX_ARRAY_SIZE) throw new InvalidArgumentError(`an array has at most ${MAX_ARRAY_SIZE} children.`);
    }
  }
  let parallelism: number | undefined;
  if (throttle !== undefined) {
    if (!/^\d+$/.test(throttle) || Number(throttle) < 1) throw new InvalidArgumentError(`"%${throttle}" must be a positive number of children at once.`);
    parallelism = Math.min(Number(throttle), MAX_ARRAY_SIZE);
  }
  const sorted = [...indices].sort((a, b) => a - b);
  const contiguousFromZero = sorted.every((index, position) => index === position);
  return {
    size: sorted.length,
    ...(parallelism === undefined ? {} : { parallelism }),
    ...(contiguousFromZero ? {} : { indices: sorted }),
  };
}
