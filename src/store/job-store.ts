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
 * The two lanes a job waits in for a worker slot. `retry`: a retry whose backoff has ended; it is claimed
 * before every `new` one, because a retry's only intended wait is its backoff (retries are bounded by
 * `max_retries`, so they cannot starve new jobs). `new`: a job queued by a submission, an operator's retry or
 * a restart. Within a lane, first in, first out, by the moment each job became ready.
 */
export type ReadyLane = 'retry' | 'new';

export interface ClaimRequest {
  /** At most this many jobs. */
  limit: number;
  /**
   * The job types with a concurrency limit, each with how many more of its jobs may start now (0: none). A
   * type not in the map is bound by `limit` alone. A type at its limit never holds back a ready job of
   * another type.
   */
  allowances?: ReadonlyMap<string, number>;
}

/** The public states of jobs with work pending, which a restart takes back. */
export const UNFINISHED_STATES: readonly JobState[] = ['queued', 'running', 'backoff'];

/** What a store's `save` returns when the write is taken at once (in memory, or into a buffer). */
export const TAKEN: Promise<void> = Promise.resolve();

/**
 * Where jobs live. The engine calls `save` on every transition with the whole plain-JSON record (its history
 * included). A job that waits for a worker slot is its record here, in a ready lane, and nowhere else: the
 * engine claims it when a slot is free and restores its actor from the record. Every read and write is
 * asynchronous, so a store on a database drops in for the memory one; one contract suite
 * (test/store/contract.ts) holds every implementation to the same behaviour.
 */
export interface JobStore {
  /**
   * True when `save` buffers writes that `flush` makes durable. The engine then starts no attempt before the
   * writes that precede it are flushed, and acknowledges no submission before its record is.
   */
  readonly durable: boolean;
  /**
   * Records a job's new state; `from` is the state it left (null for a new job), for the per-state counts.
   * `ready` puts the job at the end of that lane, to wait for a claim; without it the job is in no lane.
   * Resolves once the write is taken (a durable store's `flush` says when it is on disk).
   */
  save(record: JobRecord, from: JobState | null, ready?: ReadyLane): Promise<void>;
  /**
   * Takes ready jobs out of their lanes, in claim order (every `retry` one before any `new` one, each lane
   * first in, first out), within the request's limits. A job is claimed once: two claims never return the
   * same job, until it is saved into a lane again. Resolves with fewer jobs (none) when fewer are ready.
   */
  claim(request: ClaimRequest): Promise<JobRecord[]>;
  /**
   * Resolves once every save made so far is durable (at once for a memory store). Rejects with `ServiceError`
   * `storage_unavailable` when the write failed.
   */
  flush(): Promise<void>;
  /**
   * Forgets a job whose admission was never acknowledged (its submission's flush failed): its buffered
   * writes, and its stored record if one was written since. Only a store whose `flush` can fail needs it.
   */
  discard?(id: string): Promise<void>;
  get(id: string): Promise<JobRecord | undefined>;
  /** Rejects with `ServiceError` `validation_failed` for a cursor it did not issue. */
  list(query: StoreListQuery): Promise<StorePage>;
  counts(): Promise<Record<JobState, number>>;
  /** The per-state counts of each job type that has records. */
  countsByType(): Promise<Record<string, Record<JobState, number>>>;
  /**
   * The records in `states` (default: every unfinished state), in submission order: what a restart takes
   * back. A durable store puts a job that was claimed and never saved again (its process died in between)
   * back in its lane when it opens.
   */
  unfinished(states?: readonly JobState[]): Promise<JobRecord[]>;
  /**
   * Subscribes to the outcome of every commit: `null` after one that wrote, its error after one that failed.
   * Only a store whose writes can fail has it. Returns the unsubscribe function.
   */
  onCommitOutcome?(listener: (error: unknown) => void): () => void;
  /** Flushes what is pending and releases the store (a durable store's file lock). */
  close(): Promise<void>;
}
