import type { OutputArchiveRecord } from '../events/log-archive.ts';
import * as z from 'zod';
import { artifactPatternsSchema } from '../artifact.ts';
import { POOL_NAME_PATTERN } from '../resources.ts';
import { ARCHIVE_ID_PATTERN } from '../archive-id.ts';
import { CONTROL_CHARS, wellFormedString } from '../text-rules.ts';
import { dependsOnSchema, type Dependency, type Hold } from './dependencies.ts';
import type { AttemptUsage, CostRate } from '../usage/usage.ts';

export const JOB_STATES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const TERMINAL_STATES: readonly JobState[] = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];

export const DEFAULT_TIMEOUT_SECONDS = 24 * 3600;
/** SQS delays a message at most 15 minutes; retry backoff is implemented with that delay. */
export const MAX_RETRY_DELAY_SECONDS = 900;
export const DEFAULT_RETRY_DELAY_SECONDS = 10;

/**
 * What makes a failed attempt worth another: an exit code, any non-zero exit or signal
 * (`NONZERO`), a worker that vanished (`WORKER_LOST`), a timeout (`TIMED_OUT`), or a container image
 * that could not be pulled or found (`IMAGE_PULL`: registries fail transiently). Cancels and
 * programs that cannot start are never retried.
 */
export const retryConditionSchema = z.union([
  z.number().int().min(1).max(255),
  z.enum(['NONZERO', 'WORKER_LOST', 'TIMED_OUT', 'IMAGE_PULL']),
]);
export type RetryCondition = z.infer<typeof retryConditionSchema>;
export const DEFAULT_RETRY_ON: readonly RetryCondition[] = ['NONZERO', 'WORKER_LOST'];
export const MAX_TIMEOUT_SECONDS = 14 * 24 * 3600;
export const MAX_ATTEMPTS_LIMIT = 20;

// Controls are refused in names and labels (tab included), not in argv/env values.
// eslint-disable-next-line no-control-regex -- matching NUL is the point
const NUL = /\u0000/;

const noControlChars = (s: string) => !CONTROL_CHARS.test(s);

const argument = wellFormedString()
  .max(32 * 1024)
  .refine((s) => !NUL.test(s), 'must not contain NUL characters');

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,255}$/, 'must match [A-Za-z_][A-Za-z0-9_]*');
const labelKey = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/, 'must match [A-Za-z0-9][A-Za-z0-9._/-]{0,62}');

function boundedRecord<K extends z.ZodType<string>, V extends z.ZodType>(key: K, value: V, max: number) {
  return z
    .record(key, value)
    .refine((r) => Object.keys(r).length <= max, `at most ${max} entries`);
}

export const resourcesSchema = z.strictObject({
  gpus: z.number().int().min(0).max(16).default(0),
  cpu: z.number().positive().max(192).default(1),
  memoryMiB: z.number().int().min(1).max(2 * 1024 * 1024).default(1024),
});
export type Resources = z.infer<typeof resourcesSchema>;

/** Job priority bounds: among the jobs a free slot can run, the highest priority starts first. */
export const MIN_PRIORITY = -1000;
export const MAX_PRIORITY = 1000;
export const prioritySchema = z.number().int().min(MIN_PRIORITY).max(MAX_PRIORITY);

/**
 * An OCI image reference as the distribution spec writes it: optional registry host[:port], a
 * lower-case repository path, an optional tag and/or a sha256 digest (`ghcr.io/org/train:1.2`,
 * `pytorch/pytorch@sha256:…`). Options (`--privileged`), spaces and upper-case paths are refused.
 */
export const IMAGE_REFERENCE_PATTERN =
  /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
export const IMAGE_PULL_POLICIES = ['IfNotPresent', 'Always', 'Never'] as const;
export type ImagePullPolicy = (typeof IMAGE_PULL_POLICIES)[number];

/** The body of `POST /v1/jobs`. Unknown fields are rejected so typos never silently do nothing. */
export const jobSpecSchema = z.strictObject({
  command: z
    .array(argument)
    .min(1, 'must name a program')
    .max(4096)
    .refine((argv) => (argv[0] ?? '').length > 0, 'the program (command[0]) must not be empty'),
  queue: z.string().regex(POOL_NAME_PATTERN, 'must be a queue name like "default" or "gpu-a10g"').default('default'),
  env: boundedRecord(envName, argument, 256).default({}),
  name: wellFormedString().min(1).max(128).refine(noControlChars, 'must not contain control characters').optional(),
  timeoutSeconds: z.number().int().min(1).max(MAX_TIMEOUT_SECONDS).default(DEFAULT_TIMEOUT_SECONDS),
  maxAttempts: z.number().int().min(1).max(MAX_ATTEMPTS_LIMIT).optional(),
  retryOn: z.array(retryConditionSchema).max(64).optional(),
  retryDelaySeconds: z.number().int().min(0).max(MAX_RETRY_DELAY_SECONDS).default(DEFAULT_RETRY_DELAY_SECONDS),
  resources: resourcesSchema.default({ gpus: 0, cpu: 1, memoryMiB: 1024 }),
  /** Within its group, a higher priority starts first (ties by submit order); specs/11-scheduling.md. */
  priority: prioritySchema.default(0),
  /** Runs the job in its own container from this image (the worker's container engine); a sandboxed process otherwise. */
  image: z.string().max(255).regex(IMAGE_REFERENCE_PATTERN, 'must be an OCI image reference like "ghcr.io/org/image:tag"').optional(),
  imagePullPolicy: z.enum(IMAGE_PULL_POLICIES).default('IfNotPresent'),
  labels: boundedRecord(
    labelKey,
    wellFormedString().max(256).refine(noControlChars, 'must not contain control characters'),
    64,
  ).default({}),
  /** The work directory the process starts in: an archive uploaded through POST /v1/uploads. */
  workdir: z
    .strictObject({ archive: z.string().regex(ARCHIVE_ID_PATTERN, 'must be "sha256:<64 hex digits>" as POST /v1/uploads returns') })
    .optional(),
  /** Files stored after the process ends: globs relative to the work directory. */
  artifacts: artifactPatternsSchema.default([]),
  /** Jobs of the same group this one waits for (core/jobs/dependencies.ts); each must exist at submit. */
  dependsOn: dependsOnSchema.default([]),
});
export type JobSpecInput = z.input<typeof jobSpecSchema>;
export type JobSpec = z.output<typeof jobSpecSchema>;

export interface StateChange {
  readonly at: string;
  readonly from: JobState | null;
  readonly to: JobState;
  readonly reason: string;
}

export interface AttemptRecord {
  readonly attempt: number;
  readonly workerId: string;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly exitCode?: number | null;
  readonly reason?: string;
  /** The attempt's complete output in the log archive, recorded when the attempt ended. */
  readonly logArchive?: OutputArchiveRecord;
  /** The price the attempt is charged at, fixed by the worker that claimed it (core/usage/usage.ts). */
  readonly costRate?: CostRate;
  /** What the attempt used and cost, recorded in the write that ended it. */
  readonly usage?: AttemptUsage;
}

/**
 * Capacity a RUNNING attempt holds besides its worker slot, recorded by its claim
 * (core/jobs/capacity-counters.ts) and given back by whatever ends the attempt.
 */
export interface Holding {
  /** The CapacityCounters implementation that took it. */
  readonly kind: string;
  /** Its counter item within that kind (a group name, an array parent's id). */
  readonly key: string;
  /** Amount taken per counter attribute, e.g. { runningGpus: 2, runningJobs: 1 }. */
  readonly amounts: Readonly<Record<string, number>>;
  /** When the claim took it (ISO). */
  readonly takenAt: string;
}

export interface Lease {
  readonly id: string;
  readonly workerId: string;
  /** Epoch milliseconds; conditions compare against it. */
  readonly expiresAt: number;
}

/** A job as the core sees it. Storage keys and GSI attributes live only in the store adapter. */
export interface Job {
  readonly id: string;
  readonly name: string | null;
  readonly group: string;
  readonly owner: string;
  readonly state: JobState;
  readonly queue: string;
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  readonly maxAttempts: number;
  readonly retryOn: readonly RetryCondition[];
  /** First retry's delay; doubled per attempt, with jitter, capped at MAX_RETRY_DELAY_SECONDS. */
  readonly retryDelaySeconds: number;
  /** While QUEUED for a retry: when the backoff ends (ISO). */
  readonly retryAt: string | null;
  /**
   * False while the job is on the dispatch sweeper's list: from its submit (or retry) until a claim,
   * or until the sweeper re-sent its message after the grace period. The submit does not confirm
   * its own send (that would be a second write per submit); a lost send is repaired by the sweeper.
   */
  readonly dispatched: boolean;
  readonly resources: Resources;
  /** Integer MIN_PRIORITY..MAX_PRIORITY; higher starts first within the job's group. */
  readonly priority: number;
  /**
   * While QUEUED: when the scheduler admitted it (its message is sent or about to be; ISO), or null
   * while it waits on the scheduler's pending list (or under a hold).
   */
  readonly admittedAt: string | null;
  /**
   * While admitted: the worker the scheduler placed it on (its message went to that worker's
   * inbox); absent when admitted without a placement (direct dispatch) or not admitted.
   */
  readonly admittedTo?: string;
  /** The container image the job runs in; null for a (sandboxed) process job. */
  readonly image: string | null;
  readonly imagePullPolicy: ImagePullPolicy;
  readonly labels: Readonly<Record<string, string>>;
  /** Unpacked into the work directory before each attempt starts; null: an empty directory. */
  readonly workdir: { readonly archive: string } | null;
  /** Globs of files stored as artifacts after each attempt. */
  readonly artifacts: readonly string[];
  /** Attempts started so far; 0 until a worker claims the job. */
  readonly attempt: number;
  readonly exitCode: number | null;
  readonly reason: string | null;
  /**
   * Machine-readable companion of `reason` where the platform, not the process, decided the end
   * (DEPENDENCY_NEVER_SATISFIED); null otherwise.
   */
  readonly reasonCode: string | null;
  /** What the job waits for, as submitted (aftercorr already mapped for an array child). */
  readonly dependsOn: readonly Dependency[];
  /**
   * Set while a QUEUED job is not runnable (its dependencies are unsatisfied): it has no dispatch
   * or pending key and no claim takes it until `releaseHold` clears it (job-item.ts isRunnable).
   */
  readonly hold: Hold | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly cancelRequested: boolean;
  readonly cancelRequestedBy: string | null;
  readonly lease: Lease | null;
  /** What the running attempt's claim took from capacity counters; empty unless RUNNING. */
  readonly holdings: readonly Holding[];
  readonly history: readonly StateChange[];
  readonly attempts: readonly AttemptRecord[];
  /** HMAC of the spec made at submit where the deployment has a dispatch key (core/jobs/dispatch-signature.ts). */
  readonly dispatchSignature?: string;
  /**
   * Epoch ms until which someone follows the job's output (set by reads of its events): the
   * worker stores output at once while it is in the future, and in larger batches otherwise.
   */
  readonly outputWatchedUntil?: number;
}

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.includes(state);
}

