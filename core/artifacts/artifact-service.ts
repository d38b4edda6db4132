import * as z from 'zod';
import type { Caller } from '../auth/caller.ts';
import { DomainError } from '../errors.ts';
import { parseOrThrow } from '../validation.ts';
import type { JobService } from '../jobs/job-service.ts';
import { artifactObjectKey, artifactView, isSafeRelativePath, type ArtifactView } from '../artifact.ts';
import type { ArtifactObjects } from './artifact-objects.ts';
import type { ArtifactStore } from './artifact-store.ts';

/** S3 allows presigned URLs for 7 days; we hand out 15 minutes at most, so a leaked URL is soon worthless. */
export const MAX_DOWNLOAD_URL_SECONDS = 900;

const attempt = z.coerce.number().int().min(1).max(10_000).optional();
export const listArtifactsQuerySchema = z.strictObject({
  attempt,
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(4096).optional(),
});
export const getArtifactQuerySchema = z.strictObject({ attempt });

export class ArtifactNotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  constructor(jobId: string, attempt: number, path: string) {
    super(`job ${jobId} has no artifact ${JSON.stringify(path)} in attempt ${attempt}`, { jobId, attempt, path });
  }
}

export interface ArtifactServiceOptions {
  readonly jobs: Pick<JobService, 'get'>;
  readonly store: ArtifactStore;
  readonly objects: ArtifactObjects;
  /** Validity of download URLs; capped at MAX_DOWNLOAD_URL_SECONDS. */
  readonly urlExpirySeconds?: number;
}

/**
 * Reading a job's artifacts. Authorization is the job's own: whoever may read the job may read its
 * files, and another group's job answers 404 here exactly as it does on GET /v1/jobs/{id}.
 */
export class ArtifactService {
  private readonly jobs: Pick<JobService, 'get'>;
  private readonly store: ArtifactStore;
  private readonly objects: ArtifactObjects;
  readonly urlExpirySeconds: number;

  constructor(options: ArtifactServiceOptions) {
    this.jobs = options.jobs;
    this.store = options.store;
    this.objects = options.objects;
    this.urlExpirySeconds = Math.min(options.urlExpirySeconds ?? MAX_DOWNLOAD_URL_SECONDS, MAX_DOWNLOAD_URL_SECONDS);
  }

  /** One attempt's artifacts (the latest attempt's by default), in path order. */
  async list(jobId: string, query: unknown, caller: Caller): Promise<{ artifacts: ArtifactView[]; nextCursor: string | null }> {
    const q = parseOrThrow(listArtifactsQuerySchema, query, 'query');
    const job = await this.jobs.get(jobId, caller);
    const page = await this.store.list(job.id, q.attempt ?? Math.max(1, job.attempt), q.limit, q.cursor);
    return { artifacts: page.items.map(artifactView), nextCursor: page.nextCursor };
  }

  /** A short-lived URL for one artifact's bytes. */
  async downloadUrl(jobId: string, path: string, query: unknown, caller: Caller): Promise<{ url: string; artifact: ArtifactView }> {
    const q = parseOrThrow(getArtifactQuerySchema, query, 'query');
    const job = await this.jobs.get(jobId, caller);
    const attemptNumber = q.attempt ?? Math.max(1, job.attempt);
    if (!isSafeRelativePath(path)) throw new ArtifactNotFoundError(job.id, attemptNumber, path);
    const record = await this.store.get(job.id, attemptNumber, path);
    if (!record) throw new ArtifactNotFoundError(job.id, attemptNumber, path);
    const fileName = path.slice(path.lastIndexOf('/') + 1);
    const url = await this.objects.presignGet(artifactObjectKey(job.id, attemptNumber, path), fileName, this.urlExpirySeconds);
    return { url, artifact: artifactView(record) };
  }
}
