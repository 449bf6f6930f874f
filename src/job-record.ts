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
