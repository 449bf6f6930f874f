import type { JobRecord, JobState } from '../engine/job-record.js';

export interface StoreListQuery {
  state?: JobState;
  type?: string;
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
 * Where job records live. The engine calls `save` on every transition with the whole plain-JSON record (its
 * history included), so a durable implementation drops in for the memory one.
 */
export interface JobStore {
  /**
   * True when `save` buffers writes that `flush` makes durable. The engine then starts no attempt before the
   * writes that precede it are flushed, and acknowledges no submission before its record is.
   */
  readonly durable: boolean;
  /** Records a job's new state; `from` is the state it left (null for a new job), for the per-state counts. */
  save(record: JobRecord, from: JobState | null): void;
  /**
   * Resolves once every save made so far is durable (at once for a memory store). Rejects with `ServiceError`
   * `storage_unavailable` when the write failed.
   */
  flush(): Promise<void>;
  /**
   * Forgets a job whose admission was never acknowledged (its submission's flush failed): its buffered
   * writes, and its stored record if one was written since. Only a store whose `flush` can fail needs it.
   */
  discard?(id: string): void;
  get(id: string): JobRecord | undefined;
  /** Throws `ServiceError` `validation_failed` for a cursor it did not issue. */
  list(query: StoreListQuery): StorePage;
  counts(): Record<JobState, number>;
  /** The per-state counts of each job type that has records. */
  countsByType(): Record<string, Record<JobState, number>>;
  /** The unfinished records (queued, running, backoff), in submission order: what a restart takes back. */
  unfinished(): JobRecord[];
  /** Flushes what is pending and releases the store (a durable store's file lock). */
  close(): Promise<void>;
}
