/**
 * A job's fields, defined once: what its machine keeps in its context, what the store keeps in its record
 * (with the public state, the progress and the history, `job-record.ts`), and what the API shows. The
 * machine imports them from here; nothing here imports the machine.
 *
 * `JOB_FIELDS` names every field, checked against the interface by `satisfies`: a field added to one and
 * not the other is a type error, and the copies that go field by field (`newRecord`, `updateRecord`, the
 * memory store's compact records) are tested against it.
 */

/**
 * The public job states: the top-level states of the job machine (`machines/job.machine.ts`), spelled out for
 * the types; a test fails when the two differ.
 */
export const JOB_STATES = ['scheduled', 'queued', 'running', 'backoff', 'done', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** What chose a retry's delay. */
export type DelaySource = 'backoff' | 'retry_after';

export type ResultError = 'too_large' | 'not_json';

/** What a submission gives. */
export interface JobInput {
  id: string;
  /** The job type: which processor runs its attempts, and with which options. */
  type: string;
  payload: unknown;
  max_retries: number;
  /** −100..100, default 0: a higher priority is claimed first (PRIORITY_MIN, PRIORITY_MAX). */
  priority?: number;
  /**
   * Epoch ms: when a job submitted with a future `run_at` or `delay_ms` comes due (it waits in `scheduled`
   * until then); null once due, and for a job submitted to run now. Default null.
   */
  next_run_at?: number | null;
}

/** The lowest and highest job priority; 0 is the default. */
export const PRIORITY_MIN = -100;
export const PRIORITY_MAX = 100;

export interface JobFields extends JobInput {
  priority: number;
  next_run_at: number | null;
  /** Attempts started, the first included. */
  attempts: number;
  /** `attempts` at the latest operator RETRY (0 before any): the retry budget counts from there. */
  attempts_at_retry: number;
  last_error: string | null;
  /** Epoch ms, as every time below. */
  created_at: number;
  updated_at: number;
  /** When the latest attempt started. */
  started_at: number | null;
  finished_at: number | null;
  /** When the pending retry becomes ready (absolute, so a restart can re-arm it). */
  next_retry_at: number | null;
  /** The delay chosen before the latest retry. */
  last_delay_ms: number | null;
  /** What chose `last_delay_ms`: the backoff formula, or the processor (an HTTP target's `Retry-After`). */
  last_delay_source: DelaySource | null;
  /** The successful attempt's value, as JSON; null when there was none or it was too large. */
  result: unknown;
  /** Why a successful attempt's value was not kept: `too_large` (over RESULT_MAX_BYTES), `not_json`. */
  result_error: ResultError | null;
  /** The size of the successful attempt's value as JSON, in bytes (also when it was too large to keep). */
  result_bytes: number | null;
  /** An operator asked to cancel the running attempt; the job becomes `cancelled` once it stops. */
  cancel_requested: boolean;
}

/** Every field of `JobFields`, once. */
export const JOB_FIELDS = Object.keys({
  id: true,
  type: true,
  payload: true,
  max_retries: true,
  priority: true,
  next_run_at: true,
  attempts: true,
  attempts_at_retry: true,
  last_error: true,
  created_at: true,
  updated_at: true,
  started_at: true,
  finished_at: true,
  next_retry_at: true,
  last_delay_ms: true,
  last_delay_source: true,
  result: true,
  result_error: true,
  result_bytes: true,
  cancel_requested: true,
} satisfies Record<keyof JobFields, true>) as (keyof JobFields)[];

/**
 * The fields of a job that has not started yet, beyond its input and its times: one table, so that a new
 * field gets its starting value here or fails to compile, and the memory store's compact queued record
 * (which keeps only the input and the submission time) rebuilds it from here.
 */
export const NOT_STARTED = Object.freeze({
  attempts: 0,
  attempts_at_retry: 0,
  last_error: null,
  started_at: null,
  finished_at: null,
  next_retry_at: null,
  last_delay_ms: null,
  last_delay_source: null,
  result: null,
  result_error: null,
  result_bytes: null,
  cancel_requested: false,
} as const satisfies Omit<JobFields, keyof JobInput | 'created_at' | 'updated_at'>);

/** The default of the input fields a submission may leave out (what a compact record leaves out too). */
export const INPUT_DEFAULTS = Object.freeze({ priority: 0, next_run_at: null } as const);

/** A new job's fields: what a submission stores, and what its actor starts from. */
export function initialJobFields(input: JobInput, now: number): JobFields {
  return {
    id: input.id,
    type: input.type,
    payload: input.payload,
    max_retries: input.max_retries,
    priority: input.priority ?? INPUT_DEFAULTS.priority,
    next_run_at: input.next_run_at ?? INPUT_DEFAULTS.next_run_at,
    created_at: now,
    updated_at: now,
    ...NOT_STARTED,
  };
}
