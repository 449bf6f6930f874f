import type { JobRecord, JobState } from '../job-record.js';

export interface StoreListQuery {
  state?: JobState;
  /** 1–1000. */
  limit: number;
  /** The `next_cursor` of a previous page. */
  cursor?: string;
}

export interface StorePage {
  /** Newest (by submission) first. */
  jobs: JobRecord[];
  next_cursor: string | null;
}

/**
 * Where job records live. The engine calls `save` on every transition with the whole plain-JSON record, so a
 * durable implementation can drop in for the memory one.
 */
export interface JobStore {
  save(record: JobRecord): void;
  get(id: string): JobRecord | undefined;
  /** Throws `ServiceError` `validation_failed` for a cursor it did not issue. */
  list(query: StoreListQuery): StorePage;
  counts(): Record<JobState, number>;
}
