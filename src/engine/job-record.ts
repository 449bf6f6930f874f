/**
 * The plain-JSON shapes that leave the engine: a job's record (what the store keeps and the API shows) and
 * a transition (what the event stream and the per-job history carry). Times are epoch milliseconds here;
 * the HTTP layer renders them as ISO-8601.
 */

import { JOB_STATES, type DelaySource, type JobFields, type JobState } from './job-fields.js';
import { jsonText } from '../json-text.js';

export { JOB_STATES, type JobState };

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
  /** The job's type. */
  type: string;
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
  /** The delay chosen on entering `backoff`, else null. */
  delay_ms: number | null;
  /** What chose `delay_ms` (the backoff formula, or a `Retry-After`); null when `delay_ms` is. */
  delay_source: DelaySource | null;
}

/** The largest `progress` value a processor may report, as JSON, in bytes. */
export const PROGRESS_MAX_BYTES = 1024;

/** A job's stored record: its machine context (the fields documented there), its public state and history. */
export interface JobRecord extends JobFields {
  state: JobState;
  /** The latest value the processor reported with `ctx.progress` (at most PROGRESS_MAX_BYTES as JSON), or null. */
  progress: unknown;
  /** The latest transitions, oldest first, at most HISTORY_LIMIT. */
  history: Transition[];
}

/**
 * A new record from a job's context. Written out field by field, like `updateRecord`, rather than spread: the
 * contexts XState's `assign` makes come in many shapes, and spreading them was the engine's costliest line.
 */
export function newRecord(context: JobFields, state: JobState, history: Transition[]): JobRecord {
  return {
    id: context.id,
    type: context.type,
    payload: context.payload,
    max_retries: context.max_retries,
    priority: context.priority,
    next_run_at: context.next_run_at,
    attempts: context.attempts,
    attempts_at_retry: context.attempts_at_retry,
    last_error: context.last_error,
    created_at: context.created_at,
    updated_at: context.updated_at,
    started_at: context.started_at,
    finished_at: context.finished_at,
    next_retry_at: context.next_retry_at,
    last_delay_ms: context.last_delay_ms,
    last_delay_source: context.last_delay_source,
    result: context.result,
    result_error: context.result_error,
    result_bytes: context.result_bytes,
    cancel_requested: context.cancel_requested,
    state,
    progress: null,
    history,
  };
}

/** Updates a record in place from its job's context (every field but the history and the progress). */
export function updateRecord(record: JobRecord, context: JobFields, state: JobState): void {
  record.payload = context.payload;
  record.max_retries = context.max_retries;
  record.priority = context.priority;
  record.next_run_at = context.next_run_at;
  record.attempts = context.attempts;
  record.attempts_at_retry = context.attempts_at_retry;
  record.last_error = context.last_error;
  record.created_at = context.created_at;
  record.updated_at = context.updated_at;
  record.started_at = context.started_at;
  record.finished_at = context.finished_at;
  record.next_retry_at = context.next_retry_at;
  record.last_delay_ms = context.last_delay_ms;
  record.last_delay_source = context.last_delay_source;
  record.result = context.result;
  record.result_error = context.result_error;
  record.result_bytes = context.result_bytes;
  record.cancel_requested = context.cancel_requested;
  record.state = state;
}

const NO_RESULT = Object.freeze({ result: null, result_error: null, result_bytes: null });

/**
 * A successful attempt's value as a job keeps it: its JSON form must fit in `maxBytes`. A value too large, or
 * one that JSON cannot hold (a BigInt, a cycle), never fails the job: `result` is null and `result_error` says
 * why. `undefined` (a handler that returns nothing) is kept as null.
 */
export function keepResult(output: unknown, maxBytes: number) {
  // Shared: most handlers return nothing, and `assign` copies the fields out of it anyway.
  if (output === undefined || output === null) return NO_RESULT;
  const json = jsonText(output);
  if (json === undefined) return { result: null, result_error: 'not_json' as const, result_bytes: null };
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes) return { result: null, result_error: 'too_large' as const, result_bytes: bytes };
  // The parsed copy, so the record holds plain JSON (no class instances, no Dates) like every store reads back.
  return { result: JSON.parse(json) as unknown, result_error: null, result_bytes: bytes };
}

/**
 * A job's machine context from its record: what its actor is restored with. Written out field by field (a
 * missed field is a type error): a rest spread made an object of another shape, slower in every `assign`.
 */
export function contextOf(record: JobRecord): JobFields {
  return {
    id: record.id,
    type: record.type,
    payload: record.payload,
    max_retries: record.max_retries,
    priority: record.priority,
    next_run_at: record.next_run_at,
    attempts: record.attempts,
    attempts_at_retry: record.attempts_at_retry,
    last_error: record.last_error,
    created_at: record.created_at,
    updated_at: record.updated_at,
    started_at: record.started_at,
    finished_at: record.finished_at,
    next_retry_at: record.next_retry_at,
    last_delay_ms: record.last_delay_ms,
    last_delay_source: record.last_delay_source,
    result: record.result,
    result_error: record.result_error,
    result_bytes: record.result_bytes,
    cancel_requested: record.cancel_requested,
  };
}
