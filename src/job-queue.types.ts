/**
 * The facade's contract: the one entry point the HTTP layer talks to. Implemented by `createJobQueue`
 * in `job-queue.ts`.
 */
import type { JobRecord, JobState, Transition } from './job-record.js';

export interface SubmitInput {
  /** Generated (a UUID) when missing. */
  id?: string;
  payload: unknown;
  /** Retries after the first attempt: a job gets at most 1 + max_retries attempts. */
  max_retries: number;
}

export interface ListQuery {
  state?: JobState;
  /** 1–1000. */
  limit: number;
  /** The `next_cursor` of a previous page. */
  cursor?: string;
}

export interface ListPage {
  /** Newest first. */
  jobs: JobRecord[];
  next_cursor: string | null;
}

export interface Stats {
  states: Record<JobState, number>;
  workers: { busy: number; total: number };
  /** `used` counts unfinished jobs; `capacity` is WORKERS + QUEUE_SIZE. */
  queue: { used: number; capacity: number };
  totals: { submitted: number; done: number; failed: number; retries: number; rejected: number };
}

export type Lifecycle = 'accepting' | 'draining' | 'stopped';

export interface DrainResult {
  /** Jobs still unfinished when the deadline passed (empty after a clean drain). */
  unfinished: { id: string; state: JobState }[];
}

/** Events the queue emits. */
export interface JobQueueEventMap {
  /** A job moved between public states (a submission is a move from null to `queued`). */
  transition: Transition;
}

export interface JobQueue {
  /**
   * Admits a job. Rejects with `ServiceError` `shutting_down` while draining, with `DuplicateJobError` when
   * the id is known, and with `ServiceError` `queue_full` (carrying `Retry-After`) when at capacity — checked
   * in that order. Resolves once the job is admitted (and, with a durable store, written).
   */
  submit(input: SubmitInput): Promise<JobRecord>;
  get(id: string): JobRecord | undefined;
  /** Throws `ServiceError` `validation_failed` for a malformed cursor. */
  list(query: ListQuery): ListPage;
  stats(): Stats;
  lifecycle(): Lifecycle;
  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof JobQueueEventMap>(event: K, listener: (payload: JobQueueEventMap[K]) => void): () => void;
  /**
   * Stops admitting and waits for every unfinished job to end. If `deadlineMs` passes first, aborts the running
   * attempts and resolves with the jobs left unfinished.
   */
  drain(deadlineMs: number): Promise<DrainResult>;
}
