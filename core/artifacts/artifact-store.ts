import type { Page } from '../jobs/store.ts';
import type { ArtifactRecord } from '../artifact.ts';

/** The records of stored artifacts, keyed by job, attempt and path. */
export interface ArtifactStore {
  /** Records (or re-records: the same path of the same attempt is overwritten) the files given. */
  record(records: readonly ArtifactRecord[]): Promise<void>;
  list(jobId: string, attempt: number, limit: number, cursor?: string): Promise<Page<ArtifactRecord>>;
  get(jobId: string, attempt: number, path: string): Promise<ArtifactRecord | undefined>;
}
