import type { ArrayChildState } from '../jobs/job.ts';

/**
 * Variables a job inherits from its worker. Everything else is withheld: a worker's own secrets
 * (AWS credentials, tokens) must never leak into user code, but jobs still need a sane PATH, locale
 * and the CUDA/NVIDIA runtime settings of the machine they run on.
 */
const INHERITED = /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LC_[A-Z_]+|TZ|TMPDIR|TERM|LD_LIBRARY_PATH|CUDA_[A-Z0-9_]+|NVIDIA_[A-Z0-9_]+|NCCL_[A-Z0-9_]+|PYTHONUNBUFFERED)$/;

export function inheritedEnvironment(source: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) {
    if (v !== undefined && INHERITED.test(k) && k !== 'CUDA_VISIBLE_DEVICES') env[k] = v;
  }
  return env;
}

export interface JobEnvironmentInput {
  readonly base: Readonly<Record<string, string>>;
  readonly jobEnv: Readonly<Record<string, string>>;
  readonly jobId: string;
  readonly attempt: number;
  readonly workDir: string;
  /** GPU indices assigned to this job; an empty list hides every GPU. Undefined on a machine without GPUs. */
  readonly gpuIndices?: readonly number[];
  /** Set for an array child: its place in the array. */
  readonly arrayChild?: ArrayChildState | null;
}

/**
 * The job's own env wins over the inherited one; Runplane's variables and the GPU pinning win over both.
 * `PYTHONUNBUFFERED=1` unless the job sets it: Python block-buffers stdout that is not a terminal
 * (our capture files), so without it a Python job's output would appear in 8 KiB lumps, or not at all
 * before a crash.
 */
export function jobEnvironment(input: JobEnvironmentInput): Record<string, string> {
  return {
    ...input.base,
    PYTHONUNBUFFERED: '1',
    ...input.jobEnv,
    RUNPLANE_JOB_ID: input.jobId,
    RUNPLANE_ATTEMPT: String(input.attempt),
    RUNPLANE_WORKDIR: input.workDir,
    ...(input.arrayChild
      ? {
          RUNPLANE_ARRAY_PARENT: input.arrayChild.parentId,
          RUNPLANE_ARRAY_INDEX: String(input.arrayChild.index),
          RUNPLANE_ARRAY_SIZE: String(input.arrayChild.size),
          // Slurm's SLURM_ARRAY_TASK_ID: the index from `--array 1,3,5-7`, or the position.
          RUNPLANE_ARRAY_TASK_ID: String(input.arrayChild.taskId),
        }
      : {}),
    ...(input.gpuIndices ? { CUDA_VISIBLE_DEVICES: input.gpuIndices.join(',') } : {}),
  };
}
