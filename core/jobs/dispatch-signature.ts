import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Job } from './job.ts';

/**
 * A job's spec signed at submit with a key only the API and the workers hold, so that a worker
 * never runs a job item that no audited submit created (one written straight into the table by
 * whoever reached the database). The signature covers what the job runs and who it runs for, the
 * fields no transition changes; state, attempts and leases change and are fenced by the store's
 * conditions instead. Fields other capabilities add later are covered by listing them here.
 */
const SIGNED_FIELDS = [
  'id',
  'group',
  'owner',
  'queue',
  'name',
  'command',
  'env',
  'timeoutSeconds',
  'maxAttempts',
  'retryOn',
  'retryDelaySeconds',
  'resources',
  'labels',
  'createdAt',
  'image',
  'imagePullPolicy',
] as const;

/** 32 random bytes, base64url: a new deployment's (or data directory's) key. */
export function newDispatchKey(): string {
  return randomBytes(32).toString('base64url');
}

/** Deterministic bytes for the signed fields: objects as key-sorted entry lists, absent fields as null. */
function signedBytes(job: Job): string {
  const record = job as unknown as Record<string, unknown>;
  const fields: unknown[] = SIGNED_FIELDS.map((field) => [field, sortedValue(record[field])]);
  // Only arrays sign their shape, so every other job's signature is what it was before arrays.
  const arraySpec = arraySpecOf(job);
  if (arraySpec) fields.push(['arraySpec', sortedValue(arraySpec)]);
  return JSON.stringify(fields);
}

function sortedValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.map(sortedValue);
  if (value !== null && typeof value === 'object') {
    return Object.keys(value)
      .sort()
      .map((k) => [k, sortedValue((value as Record<string, unknown>)[k])]);
  }
  return value;
}

/** An array's shape as signed: the parent's own, or for a child its parent's (its counts change, so they are not signed). */
function arraySpecOf(job: Job): { size: number; parallelism: number | null } | null {
  if (job.array) return { size: job.array.size, parallelism: job.array.parallelism };
  if (job.arrayChild) return { size: job.arrayChild.size, parallelism: job.arrayChild.parallelism };
  return null;
}

/**
 * The spec a child's signature covers: its parent's (a child is created by the parent's submit,
 * and has the parent's spec, owner, group and creation time), so children are materialised later
 * by whoever advances the array without the dispatch key.
 */
function signedAs(job: Job): Job {
  return job.arrayChild ? { ...job, id: job.arrayChild.parentId } : job;
}

/** A child carries its parent's signature (see signedAs). */
export function signedChildOf(parent: Job, child: Job): Job {
  return parent.dispatchSignature ? { ...child, dispatchSignature: parent.dispatchSignature } : child;
}

export function signJobSpec(key: string, job: Job): string {
  return createHmac('sha256', Buffer.from(key, 'base64url')).update(signedBytes(job)).digest('base64url');
}

/** Null when the job carries a valid signature; otherwise why it must not run. */
export function dispatchRefusal(key: string, job: Job): string | null {
  if (!job.dispatchSignature) return 'it carries no submit signature: no audited submit created it';
  if (job.arrayChild && !(job.arrayChild.index >= 0 && job.arrayChild.index < job.arrayChild.size && job.id === `${job.arrayChild.parentId}-${job.arrayChild.index}`)) {
    return 'it is no child of the array its signature covers';
  }
  const expected = Buffer.from(signJobSpec(key, signedAs(job)), 'base64url');
  const given = Buffer.from(job.dispatchSignature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return 'its submit signature does not match its spec: it was not created, or was changed after, an audited submit';
  }
  return null;
}
