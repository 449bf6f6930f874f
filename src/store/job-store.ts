import type { JobRecord, JobState } from '../engine/job-record.js';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { ScheduleFire, ScheduleRow } from '../engine/schedule-fields.js';

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
 * The claim order, every store's: `priority` descending; within a priority, the `retry` lane before the `new`
 * one; within a lane, first in, first out.
 *
 * The two lanes a job waits in for a worker slot. `retry`: a retry whose backoff has ended, or a scheduled
 * job come due; it is claimed before every `new` one, because its only intended wait was its backoff or its
 * time (retries are bounded by `max_retries`, and scheduled jobs by SCHEDULED_LIMIT). `new`: a job queued by a
 * submission, an operator's retry or a restart. Within a lane, first in, first out, by the moment each job became ready.
 */
export type ReadyLane = 'retry' | 'new';

/** The job that has waited longest for a slot at one priority. */
export interface OldestWaiting {
  priority: number;
  /** Epoch ms: when it became ready (queued, or the end of its backoff delay). */
  since: number;
}

/** When a waiting job became ready: the end of a retry's backoff delay, else its latest move (into `queued`). */
export const readySince = (record: JobRecord) =>
  record.state === 'backoff' && record.next_retry_at !== null ? record.next_retry_at : record.updated_at;

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

/** A durable store's `ready_lane` column: the retry lane sorts first. */
export const LANE_NUMBER: Record<ReadyLane, number> = { retry: 0, new: 1 };

/** A durable store's `run_at` column: a job's due time while it is scheduled, else null (out of the due index). */
export const runAtOf = (record: JobRecord) => (record.state === 'scheduled' ? record.next_run_at : null);

/**
 * Counts a claimed job of `type` against what its type may still start (`left`, from the claim's allowances):
 * false, and nothing counted, when the type has no allowance left. A type not in `left` is unlimited.
 */
export function spendAllowance(left: Map<string, number>, type: string): boolean {
  const allowance = left.get(type);
  if (allowance === undefined) return true;
  if (allowance <= 0) return false;
  left.set(type, allowance - 1);
  return true;
}

/** The types with no allowance left: what a claim's query leaves out. */
export const exhaustedTypes = (left: ReadonlyMap<string, number>) =>
  [...left].filter(([, n]) => n <= 0).map(([type]) => type);

/**
 * The public states of jobs with work pending, which a restart takes back. A `scheduled` job is not among
 * them: it waits in the store for its time, and the engine's due timer finds it there after a restart.
 */
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
   * Takes ready jobs out of their lanes, in claim order (priority descending; within a priority every `retry`
   * one before any `new` one; each lane first in, first out), within the request's limits. A job is claimed once: two claims never return the
   * same job, until it is saved into a lane again. Resolves with fewer jobs (none) when fewer are ready.
   */
  claim(request: ClaimRequest): Promise<JobRecord[]>;
  /**
   * Per priority with jobs waiting in a lane, highest first, the one that has waited longest: how far
   * starvation has gone (a steady stream of higher-priority work holds lower priorities back indefinitely).
   */
  oldestWaiting(): Promise<OldestWaiting[]>;
  /**
   * The earliest `next_run_at` of the jobs in `scheduled`, or null when none is: when the engine's one timer
   * must fire next. A job saved in `scheduled` is due at its record's `next_run_at`.
   */
  nextDueAt(): Promise<number | null>;
  /**
   * Hands out up to `limit` jobs in `scheduled` whose `next_run_at` is at or before `now`, in due order
   * (`next_run_at`, then submission order). Like a claim, a job is handed out once, until it is saved in
   * `scheduled` again; the engine saves each one as `queued` (or cancels it) next.
   */
  takeDue(now: number, limit: number): Promise<JobRecord[]>;
  /** Creates or replaces a cron schedule (by its name); a durable store has it on disk when this resolves. */
  saveSchedule(row: ScheduleRow): Promise<void>;
  /**
   * Records a fire in its stored schedule: `last_fire_at` and `last_job_id`, nothing else, so that it never undoes
   * a pause or a replacement written meanwhile (by another instance of a shared store). Only a later fire than
   * the stored one is written; nothing for an unknown name (deleted meanwhile). Durable when this resolves.
   */
  saveScheduleFire(fire: ScheduleFire): Promise<void>;
  /**
   * Records a pause or a resume in its stored schedule, `paused` and nothing else, so that it never undoes a
   * replacement or a fire written meanwhile (by another instance of a shared store); nothing for an unknown
   * name (deleted meanwhile). Durable when this resolves.
   */
  saveSchedulePaused(name: string, paused: boolean): Promise<void>;
  /** Forgets a schedule; nothing for an unknown name. */
  deleteSchedule(name: string): Promise<void>;
  /** Every schedule, by name. */
  schedules(): Promise<ScheduleRow[]>;
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
  /**
   * Present when several instances share the store (PostgreSQL): admission, the jobs of a crashed instance, and
   * what the other instances did then go through the store. Absent for a store one process owns.
   */
  readonly shared?: SharedStore;
}

/** What `SharedStore.admit` did with a new job. */
export type Admission =
  | { outcome: 'admitted' }
  /** `waitingLimit` jobs wait (queued or backoff) across every instance already. */
  | { outcome: 'full' }
  /** A job with this id exists (on any instance): it is that job's record. */
  | { outcome: 'duplicate'; existing: JobRecord };

/** What the other instances of a shared store tell this one. */
export interface ClusterListener {
  /** Jobs became ready in a lane (submitted, or due for a retry) on another instance: so many, per type. */
  ready(byType: Record<string, number>): void;
  /**
   * Running and backoff jobs this instance took over from an instance that is gone (its lease expired, or it
   * released its jobs at shutdown): each is restored here as a restart restores it.
   */
  takenOver(records: JobRecord[]): void;
  /** An operator asked, on another instance, to cancel this job, whose attempt or backoff runs here. */
  cancelRequested(id: string): void;
  /** A poll found this instance idle: jobs may wait that no notification announced (one was lost). */
  poll(): void;
  /** An operator held (true) or let go of (false) dispatch through another instance. */
  dispatchChanged(paused: boolean): void;
}

export interface SharedStore {
  /** This instance's id: the owner of the jobs it runs, in the store. */
  readonly instanceId: string;
  /**
   * Admits a new job, written durably at once, unless `waitingLimit` jobs wait across the cluster or its id is
   * taken: the check and the write are one atomic step, so concurrent submissions on several instances never
   * admit one job over the limit, nor one id twice.
   */
  admit(record: JobRecord, waitingLimit: number): Promise<Admission>;
  /**
   * Takes the running and backoff jobs whose owner is gone (none, or its lease expired) for this instance,
   * and puts the queued ones it had claimed back in their lane. Resolves with the records to restore.
   */
  takeOver(): Promise<JobRecord[]>;
  /** Stores the cluster's hold on dispatch, and tells the other instances. */
  setDispatchPaused(paused: boolean): Promise<void>;
  /** Whether dispatch is held across the cluster (read at an instance's start). */
  dispatchPaused(): Promise<boolean>;
  /** Asks the instance that runs the job to cancel it; false when no other instance owns it. */
  requestCancel(id: string): Promise<boolean>;
  /** Starts telling `listener` what the other instances do; resolves once it listens. Called once. */
  watch(listener: ClusterListener): Promise<void>;
  /**
   * Calls `onChange` whenever another instance changed the stored schedules: created, replaced, paused,
   * resumed or deleted one. A fire is not told (`saveScheduleFire`): every instance fires its schedules itself.
   */
  watchSchedules(onChange: () => void): void;
  /**
   * A limiter of `points` per `durationS` seconds for each key, counted across the cluster, so that a client
   * sending to several instances gets one allowance, not one per instance.
   */
  rateLimiter(points: number, durationS: number): RateLimiterAbstract;
}
