/**
 * The plain-JSON shapes that leave the engine: a job's record (what the store keeps and the API shows) and
 * a transition (what the event stream and the per-job history carry). Times are epoch milliseconds here;
 * the HTTP layer renders them as ISO-8601.
 */

import type { JobContext } from '../machines/job.machine.js';

/**
 * The public job states: the top-level states of the job machine (`machines/job.machine.ts`), spelled out for
 * the types; a test fails when the two differ.
 */
export const JOB_STATES = ['queued', 'running', 'backoff', 'done', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/**
 * Whether a job is finished: no work is pending for it and it holds no place in the queue's capacity.
 * `failed` and `cancelled` rest there until an operator's RETRY; `done` is final.
 */
export const isFinished = (state: JobState) => state === 'done' || state === 'failed' || state === 'cancelled';

/** How many finished records per-state counts hold: what a store's retention limits. */
export const finishedCount = (counts: Record<JobState, number>) => counts.done + counts.failed + counts.cancelled;

/** How many transitions a job's history keeps; the oldest are dropped first. */
export const HISTORY_LIMIT = 50;

export interface Transition {
  id: string;
  /** The state left, or null for the submission. */
  from: JobState | null;
  to: JobState;
  /** The machine event that caused it, e.g. `SLOT_GRANTED`; `SUBMIT` for the submission. */
  event: string;
  /** Epoch ms. */
  at: number;
  /** Attempts started so far. */
  attempt: number;
  error: string | null;
  /** The backoff delay chosen on entering `backoff`, else null. */
  delay_ms: number | null;
}

/** A job's stored record: its machine context (the fields documented there), its public state and history. */
export interface JobRecord extends JobContext {
  state: JobState;
  /** The latest transitions, oldest first, at most HISTORY_LIMIT. */
  history: Transition[];
}

/**
 * A new record from a job's context. Written out field by field, like `updateRecord`, rather than spread: the
 * contexts XState's `assign` makes come in many shapes, and spreading them was the engine's costliest line.
 */
export function newRecord(context: JobContext, state: JobState, history: Transition[]): JobRecord {
  return {
    id: context.id,
    payload: context.payload,
    max_retries: context.max_retries,
    attempts: context.attempts,
    attempts_at_retry: context.attempts_at_retry,
    last_error: context.last_error,
    created_at: context.created_at,
    updated_at: context.updated_at,
    started_at: context.started_at,
    finished_at: context.finished_at,
    next_retry_at: context.next_retry_at,
    last_delay_ms: context.last_delay_ms,
    cancel_requested: context.cancel_requested,
    state,
    history,
  };
}

/** Updates a record in place from its job's context (every field but the history). */
export function updateRecord(record: JobRecord, context: JobContext, state: JobState): void {
  record.payload = context.payload;
  record.max_retries = context.max_retries;
  record.attempts = context.attempts;
  record.attempts_at_retry = context.attempts_at_retry;
  record.last_error = context.last_error;
  record.created_at = context.created_at;
  record.updated_at = context.updated_at;
  record.started_at = context.started_at;
  record.finished_at = context.finished_at;
  record.next_retry_at = context.next_retry_at;
  record.last_delay_ms = context.last_delay_ms;
  record.cancel_requested = context.cancel_requested;
  record.state = state;
}
