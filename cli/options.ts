/**
 * Parsers for command-line option values. They throw commander's `InvalidArgumentError`, which
 * commander reports as `error: option '--env <KEY=VALUE>' argument 'X' is invalid. <why>` and
 * turns into a usage error (exit code 2) before any request is sent.
 *
 * Env names and label keys are checked with the API's own schemas (core/jobs/job.ts), so the CLI
 * rejects exactly what the server would, with the server's wording, one round trip earlier.
 */
import { InvalidArgumentError } from 'commander';
import type { z } from 'zod';
import { isGroupName } from '../core/auth/groups.ts';
import { JOB_STATES, jobSpecSchema, type JobState } from '../core/jobs/job.ts';
import { DEPENDENCY_TYPES, type Dependency, type DependencyType } from '../core/jobs/dependencies.ts';
import { JOB_ID_PATTERN } from '../core/ids.ts';

/** Splits `KEY=VALUE` at the first `=`; the value may be empty and may itself contain `=`. */
export function splitAssignment(raw: string): [key: string, value: string] {
  const at = raw.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError('Expected KEY=VALUE.');
  return [raw.slice(0, at), raw.slice(at + 1)];
}

function firstIssueMessage(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  // A bad record key is reported as `invalid_key` with the key's own issue nested inside.
  const nested = (issue as { issues?: { message?: string }[] }).issues?.[0]?.message;
  return nested ?? issue.message;
}

function assignmentParser(kind: 'env' | 'labels', what: string) {
  const schema = jobSpecSchema.shape[kind];
  return (raw: string, previous: Record<string, string> | undefined): Record<string, string> => {
    const [key, value] = splitAssignment(raw);
    const result = schema.safeParse({ [key]: value });
    if (!result.success)
      throw new InvalidArgumentError(`${what} "${key}" ${firstIssueMessage(result.error)}.`);
    if (previous && Object.hasOwn(previous, key))
      throw new InvalidArgumentError(`${what} "${key}" is given twice.`);
    return { ...previous, [key]: value };
  };
}

/** Accumulates repeated `--env KEY=VALUE` into a record. */
export const parseEnvOption = assignmentParser('env', 'environment variable');

/** Accumulates repeated `--label KEY=VALUE` into a record. */
export const parseLabelOption = assignmentParser('labels', 'label');

function integerParser(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!/^\s*-?\d+\s*$/.test(raw) || !Number.isSafeInteger(value))
      throw new InvalidArgumentError('Expected a whole number.');
    if (value < min || value > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER ? `Expected at least ${min}.` : `Expected ${min} to ${max}.`,
      );
    }
    return value;
  };
}

export const parsePositiveInt = integerParser(1);
export const parseNonNegativeInt = integerParser(0);
export const parsePort = integerParser(0, 65_535);
/** A job priority (core/jobs/job.ts MIN_PRIORITY..MAX_PRIORITY, repeated so the CLI loads no job schemas). */
export const parsePriority = integerParser(-1000, 1000);

/** A positive number, fractions allowed (CPU shares). */
export function parsePositiveNumber(raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0)
    throw new InvalidArgumentError('Expected a positive number.');
  return value;
}

/** A job state, case-insensitive (`--state failed`). */
export function parseState(raw: string): JobState {
  const state = raw.toUpperCase();
  if (!(JOB_STATES as readonly string[]).includes(state)) {
    throw new InvalidArgumentError(`Expected one of ${JOB_STATES.join(', ')}.`);
  }
  return state as JobState;
}

/** `--retry-on 3,137,WORKER_LOST`: exit codes 1..255 and the named conditions the API accepts. */
export function parseRetryOn(value: string): (number | 'NONZERO' | 'WORKER_LOST' | 'TIMED_OUT' | 'IMAGE_PULL')[] {
  return value.split(',').map((raw) => {
    const item = raw.trim().toUpperCase();
    if (item === 'NONZERO' || item === 'WORKER_LOST' || item === 'TIMED_OUT' || item === 'IMAGE_PULL') return item;
    const code = Number(item);
    if (Number.isInteger(code) && code >= 1 && code <= 255) return code;
    throw new InvalidArgumentError(`"${raw}" is not an exit code (1-255), NONZERO, WORKER_LOST, TIMED_OUT or IMAGE_PULL`);
  });
}

/** A group name such as `ml-team`, checked with the API's own rule. */
export function parseGroup(raw: string): string {
  if (!isGroupName(raw)) throw new InvalidArgumentError('Expected a group name such as "ml-team" (letters, digits, . _ / @ : -).');
  return raw;
}

/** Accumulates repeated `--group` values. */
export function collectGroup(raw: string, previous: string[] | undefined): string[] {
  const group = parseGroup(raw);
  if (previous?.includes(group)) throw new InvalidArgumentError(`group "${group}" is given twice.`);
  return [...(previous ?? []), group];
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `3600`, `90s`, `15m`, `12h`, `30d` → seconds. */
export function parseDuration(raw: string): number {
  const match = /^\s*(\d+)\s*([smhd]?)\s*$/i.exec(raw);
  const seconds = match ? Number(match[1]) * (DURATION_UNITS[(match[2] || 's').toLowerCase()] ?? 1) : Number.NaN;
  if (!Number.isSafeInteger(seconds) || seconds < 1) throw new InvalidArgumentError('Expected a duration such as 3600, 15m, 12h or 30d.');
  return seconds;
}

/**
 * `--dependency` in Slurm's syntax: `type:ID[:ID...]` terms joined by `,` (all must hold), e.g.
 * `afterok:01J…:01J…,afterany:01J…`. Types: afterok, afterany, afternotok, aftercorr. Repeated
 * flags add up. Slurm's `?` (any of) and `after`/`singleton`/`+time` have no equivalent here.
 */
export function parseDependencyOption(raw: string, previous: Dependency[] | undefined): Dependency[] {
  const out = [...(previous ?? [])];
  for (const term of raw.split(',')) {
    if (term.includes('?')) throw new InvalidArgumentError('"?" (any of) is not supported; join terms with "," (all of).');
    const [type, ...ids] = term.split(':');
    if (!(DEPENDENCY_TYPES as readonly string[]).includes(type ?? '')) {
      throw new InvalidArgumentError(`"${term}": expected TYPE:ID[:ID...] with TYPE one of ${DEPENDENCY_TYPES.join(', ')}.`);
    }
    if (ids.length === 0) throw new InvalidArgumentError(`"${term}": name at least one job id after "${type}:".`);
    for (const id of ids) {
      if (!JOB_ID_PATTERN.test(id)) throw new InvalidArgumentError(`"${id}" is not a job id.`);
      if (!out.some((d) => d.job === id && d.type === type)) out.push({ job: id, type: type as DependencyType });
    }
  }
  return out;
}
