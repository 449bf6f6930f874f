/**
 * The facade's contract: the one entry point the HTTP layer talks to. Implemented by `createJobQueue`
 * in `job-queue.ts`.
 */
import type { JobTypeInfo } from '../job-types/registry.js';
import type { JobRecord, JobState, Transition } from './job-record.js';

export interface SubmitInput {
  /** Generated when missing: a UUIDv7, so generated ids sort in the order they were made. */
  id?: string;
  /** The job type; default: the queue's default type (DEFAULT_JOB_TYPE). */
  type?: string;
  payload: unknown;
  /**
   * Retries after the first attempt: a job gets at most 1 + max_retries attempts. Default: its type's
   * `max_retries`, else 3 (capped by MAX_RETRIES_LIMIT).
   */
  max_retries?: number;
  /** −100..100, default 0; a higher priority is claimed first. */
  priority?: number;
  /**
   * When to run the job, epoch ms; a time not in the future means now. Later than MAX_DELAY_MS from now is
   * refused (`validation_failed`). At most one of `run_at` and `delay_ms`.
   */
  run_at?: number;
  /** Run the job this many ms from now (0: now); at most MAX_DELAY_MS. */
  delay_ms?: number;
}

/** A submission with its defaults applied: what an idempotent resubmit is compared by. */
export interface ResolvedSubmission {
  type: string;
  payload: unknown;
  max_retries: number;
  /**
   * Compared too. `run_at` and `delay_ms` are not: a resubmit of a delayed job after a lost response asks for
   * the same moment in other words (a relative delay from a later now).
   */
  priority: number;
}

export interface ListQuery {
  state?: JobState;
  type?: string;
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
  /** The same counts per job type (types with no job yet are left out). */
  types: Record<string, Record<JobState, number>>;
  workers: { busy: number; total: number };
  /** `used` counts unfinished jobs; `capacity` is WORKERS + QUEUE_SIZE. */
  queue: { used: number; capacity: number };
  /**
   * Per priority with jobs waiting for a slot, highest first: how long the longest-waiting one has waited, in
   * ms. A steady stream of higher-priority work can hold lower priorities back indefinitely; this shows it.
   */
  waiting: { priority: number; oldest_wait_ms: number }[];
  totals: {
    /** Jobs admitted by a submission (202). */
    submitted: number;
    done: number;
    failed: number;
    cancelled: number;
    /** Attempts started after a job's first. */
    retries: number;
    /** Operator retries of failed or cancelled jobs. */
    manual_retries: number;
    /** Submissions refused with queue_full or scheduled_full. */
    rejected: number;
  };
}

/** What `JobQueue.levels` reads: the queue depth and the busy workers, as `Stats` has them. */
export interface QueueLevels {
  queued: number;
  busy: number;
}

export type TypeTotals = Omit<Stats['totals'], 'rejected'>;

/** The supervisor's top-level states: the queue's lifecycle, as `lifecycle()` and the HTTP answers show it. */
export const LIFECYCLES = ['accepting', 'pausing', 'draining', 'stopped'] as const;
export type Lifecycle = (typeof LIFECYCLES)[number];

export interface DrainResult {
  /** Jobs still unfinished when the deadline passed (empty after a clean drain). */
  unfinished: { id: string; state: JobState }[];
}

/** Events the queue emits. */
export interface JobQueueEventMap {
  /** A job moved between public states (a submission is a move from null to `queued`). */
  transition: Transition;
  /** A running attempt reported progress (sent at most 10 times a second per job, the latest value last). */
  progress: ProgressEvent;
}

export interface ProgressEvent {
  id: string;
  type: string;
  progress: unknown;
  /** Epoch ms. */
  at: number;
}

/** A job type as `GET /types` shows it: where it runs, its effective options, and its jobs per state. */
export interface JobTypeView extends JobTypeInfo {
  counts: Record<JobState, number>;
}

export interface JobQueue {
  /**
   * Admits a job. Rejects with `ServiceError` `unknown_job_type` for a type it does not know, `shutting_down` while draining, with `DuplicateJobError` when
   * the id is known, and with `ServiceError` `queue_full` (carrying `Retry-After`) when at capacity — checked
   * in that order. A job for later (`run_at`, `delay_ms`) starts `scheduled` and takes no place in the capacity:
   * it is refused with `scheduled_full` when SCHEDULED_LIMIT jobs are scheduled already. Resolves once the job is admitted (and, with a durable store, written). When that write
   * fails it rejects with `ServiceError` `storage_unavailable`, and the job is cancelled and forgotten.
   */
  submit(input: SubmitInput): Promise<JobRecord>;
  /**
   * Cancels a job: at once when scheduled, queued or in backoff; a running one has its attempt's signal aborted and
   * becomes `cancelled` when the attempt stops — this waits up to `waitMs` (default 1000) for that, and
   * resolves with the record as it then is (still `running`, with `cancel_requested`, if the attempt has not
   * stopped). Throws `not_found`, or `not_cancellable` for a finished job.
   */
  cancel(id: string, waitMs?: number): Promise<JobRecord>;
  /**
   * Puts a failed or cancelled job back in the queue, with `max_retries` fresh retries; `attempts` keeps
   * counting. Throws `not_found`, `not_retryable` (any other state), `shutting_down` or `queue_full`.
   */
  retry(id: string): Promise<JobRecord>;
  /**
   * Takes back the jobs found unfinished in a durable store at start: queued ones (and due retries) wait in
   * the store's lanes already and only take their places back; backoff ones re-arm their delay for what is
   * left until `next_retry_at`; running ones lost their attempt (`interrupted`) and follow their retry policy.
   * They count toward the capacity, over it if need be. Resolves with how many jobs were taken back.
   */
  recover(): Promise<number>;
  /** The job's record: its latest, from its live actor or from the store. */
  get(id: string): Promise<JobRecord | undefined>;
  /**
   * The record of a job with a live actor (running, or waiting out a backoff delay), read without the store;
   * undefined for any other job. For listeners of `transition` that need more than the transition carries.
   */
  peek(id: string): JobRecord | undefined;
  /** Rejects with `ServiceError` `validation_failed` for a malformed cursor. */
  list(query: ListQuery): Promise<ListPage>;
  /** The totals of `stats()`, per job type (types with no job yet are left out); `rejected` is not kept per type. */
  typeTotals(): Record<string, TypeTotals>;
  /** Every job type's name, sorted. */
  typeNames(): string[];
  /** Every job type, sorted by name. */
  types(): Promise<JobTypeView[]>;
  /** The type of a submission that names none. */
  readonly defaultType: string;
  stats(): Promise<Stats>;
  /**
   * `stats().states.queued` and `stats().workers.busy` alone: the store's per-state counts (kept in memory by
   * the memory and SQLite stores), without the per-type counts and the oldest waiting per priority that
   * `stats()` reads as well. For a caller that samples the levels often, as the throughput series does.
   */
  levels(): Promise<QueueLevels>;
  lifecycle(): Lifecycle;
  /**
   * How many attempts have their processor running. Fewer than `stats().workers.busy` while running jobs wait
   * for the writes their attempt starts after (a durable store whose writes fail): what a shutdown waits for.
   */
  processorsRunning(): number;
  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof JobQueueEventMap>(event: K, listener: (payload: JobQueueEventMap[K]) => void): () => void;
  /**
   * Stops admitting and stops dispatching (lifecycle `pausing`): running attempts go on, queued and backoff
   * jobs stay where they are. A following `drain(deadlineMs)` then waits only for the running attempts, and
   * past its deadline aborts them; it resolves with every job left unfinished. This is the shutdown of a
   * durable store, where the jobs that wait are on disk. Does nothing unless the queue is accepting.
   */
  pause(): void;
  /**
   * An operator's hold on dispatch (`POST /admin/pause`): no waiting job is started until `resumeDispatch`,
   * while submissions are still admitted and the running attempts go on. Unlike `pause`, no shutdown follows.
   * Rejects with `ServiceError` `shutting_down` once a shutdown began (`pause` or `drain`; a `drain` lets go of
   * the hold), as `POST /admin/pause` answers. The hold is this queue's at once; with a shared store it is also
   * the cluster's: every instance holds dispatch, and one that starts later starts held. Resolves once the
   * shared store has it.
   */
  pauseDispatch(): Promise<void>;
  /** Lets go of the hold of `pauseDispatch` (across the cluster of a shared store): the free slots go to the waiting jobs at once. */
  resumeDispatch(): Promise<void>;
  /** Whether dispatch is held by `pauseDispatch`. */
  dispatchPaused(): boolean;
  /**
   * Stops admitting and waits for every unfinished job to end (after `pause`, for the running attempts only).
   * If `deadlineMs` passes first, aborts the running attempts and resolves with the jobs left unfinished.
   */
  drain(deadlineMs: number): Promise<DrainResult>;
}
