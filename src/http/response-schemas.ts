/**
 * The shapes the API answers with, as zod schemas: the source of the OpenAPI document's response schemas
 * (each route's `documentRoute`) and of the types the routes build (`JobView`). The shapes it accepts are in
 * `schemas.ts`, the error bodies in `error-schemas.ts`.
 *
 * The objects are strict, so that a test parsing a real response with them fails on a field the document does
 * not know.
 */
import { z } from 'zod';
import { JOB_STATES } from '../engine/job-record.js';
import { PRIORITY_MAX, PRIORITY_MIN } from '../engine/job-fields.js';
import { dispatchReplySchema } from './console-schemas.js';

const jobState = z.enum(JOB_STATES);
/** Times are ISO-8601 UTC with milliseconds, as `Date.prototype.toISOString` writes them. */
const time = z.iso.datetime();
const count = z.int().min(0);

/** A job as `GET /jobs/:id` shows it (`jobView`). */
export const jobViewSchema = z
  .strictObject({
    id: z.string(),
    type: z.string().meta({ description: 'The job type: which processor runs it (GET /types).' }),
    state: jobState,
    payload: z.unknown().meta({ description: 'Any JSON value, exactly as submitted.' }),
    max_retries: count,
    priority: z.int().min(PRIORITY_MIN).max(PRIORITY_MAX).meta({ description: 'Higher is claimed first; default 0.' }),
    next_run_at: time.nullable().meta({ description: 'When a scheduled job comes due (scheduled only).' }),
    attempts: count.meta({ description: 'Attempts started, the first included; a manual retry keeps counting.' }),
    last_error: z.string().nullable(),
    result: z.unknown().meta({
      description: 'What the successful attempt returned (JSON); null before, or when it was not kept (result_error).',
    }),
    result_error: z.enum(['too_large', 'not_json']).nullable().meta({
      description: 'Why the result was not kept: larger than RESULT_MAX_BYTES as JSON, or not a JSON value.',
    }),
    result_bytes: count.nullable().meta({ description: 'The size of the result as JSON, kept or not.' }),
    progress: z.unknown().meta({ description: 'The latest value the running attempt reported (≤ 1 KiB of JSON).' }),
    created_at: time,
    updated_at: time,
    started_at: time.nullable().meta({ description: 'When the latest attempt started.' }),
    finished_at: time.nullable(),
    next_retry_at: time.nullable().meta({ description: 'When the pending retry becomes ready (backoff only).' }),
    cancel_requested: z.literal(true).optional().meta({
      description:
        'Present only while a cancel waits for the running attempt to stop; the job then becomes cancelled.',
    }),
  })
  .meta({ id: 'Job', description: 'A job: its record without the history, times in ISO-8601 UTC.' });

/** `POST /jobs` 202. */
export const queuedReplySchema = z
  .strictObject({
    status: z.enum(['queued', 'scheduled']).meta({ description: '`scheduled` for a job submitted to run later.' }),
    id: z.string(),
  })
  .meta({ id: 'Queued' });

/** `GET /jobs`. */
export const jobPageSchema = z.strictObject({
  jobs: z.array(jobViewSchema).meta({ description: 'Newest first.' }),
  next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last.' }),
}).meta({ id: 'JobPage' });

const perState = z.strictObject(Object.fromEntries(JOB_STATES.map((state) => [state, count])) as Record<
  (typeof JOB_STATES)[number],
  typeof count
>);

/** `GET /stats`: the engine's `Stats`. */
export const statsSchema = z.strictObject({
  states: perState,
  types: z.record(z.string(), perState).meta({ description: 'The same counts per job type.' }),
  workers: z.strictObject({ busy: count, total: count }),
  waiting: z
    .array(z.strictObject({ priority: z.int(), oldest_wait_ms: count }))
    .meta({
      description:
        'Per priority with jobs waiting for a worker, highest first: how long the longest-waiting one has waited. ' +
        'Higher priorities go first, so a lower one can wait indefinitely.',
    }),
  queue: z.strictObject({
    used: count.meta({ description: 'Unfinished jobs.' }),
    capacity: count.meta({ description: 'WORKERS + QUEUE_SIZE.' }),
  }),
  totals: z.strictObject({
    submitted: count.meta({ description: 'Jobs admitted by a submission.' }),
    done: count,
    failed: count,
    cancelled: count,
    retries: count.meta({ description: "Attempts started after a job's first." }),
    manual_retries: count.meta({ description: 'Operator retries of failed or cancelled jobs.' }),
    rejected: count.meta({ description: 'Admissions refused with queue_full or scheduled_full.' }),
  }),
}).meta({ id: 'Stats' });

/** `GET /debug/status`: `/stats` and the dispatch state of `POST /admin/pause`. */
export const debugStatusSchema = statsSchema.extend(dispatchReplySchema.shape).meta({ id: 'DebugStatus' });

/** A transition as `GET /jobs/:id/history` and `GET /events` show it. */
export const transitionViewSchema = z.strictObject({
  id: z.string(),
  type: z.string(),
  from: jobState.nullable().meta({ description: 'null for the submission.' }),
  to: jobState,
  event: z.string().meta({ description: 'The machine event, e.g. SLOT_GRANTED; SUBMIT for the submission.' }),
  at: time,
  attempt: count,
  error: z.string().nullable(),
  delay_ms: count.nullable().meta({ description: 'The delay chosen, on entering backoff.' }),
  delay_source: z.enum(['backoff', 'retry_after']).nullable().meta({
    description: "What chose delay_ms: the backoff formula, or the HTTP target's Retry-After.",
  }),
}).meta({ id: 'Transition' });

/** `GET /types`: each job type, where it runs, its effective options and its jobs per state. */
export const typesSchema = z.strictObject({
  types: z.array(
    z.strictObject({
      name: z.string(),
      kind: z.enum(['simulated', 'module', 'http']),
      source: z.string().meta({ description: 'Where it is defined: built-in, a task module file, or the types file.' }),
      options: z.strictObject({
        max_retries: count,
        timeout_ms: count.meta({ description: 'Attempt time limit; 0 means none.' }),
        backoff: z.strictObject({ base_ms: count, max_ms: count, jitter_ms: count }),
        concurrency: count.nullable().meta({ description: 'At most this many run at once; null: WORKERS only.' }),
        isolation: z.enum(['none', 'thread']),
      }),
      counts: perState,
    }),
  ),
  default_type: z.string().meta({ description: 'The type of a submission that names none (DEFAULT_JOB_TYPE).' }),
}).meta({ id: 'JobTypes' });

/** `GET /jobs/:id/history`. */
export const historySchema = z.strictObject({
  id: z.string(),
  transitions: z.array(transitionViewSchema.omit({ id: true })).meta({ description: 'Oldest first, the latest 50.' }),
}).meta({ id: 'History' });

/** `GET /debug/jobs/:id/path`. */
export const jobPathSchema = z.strictObject({
  id: z.string(),
  state: jobState,
  next_retry_at: time.nullable(),
  current: z.string().nullable(),
  visited: z.array(z.string()),
  edges: z.array(z.strictObject({ from: z.string(), to: z.string(), label: z.string(), count })),
  history: z.strictObject({
    shown: count.meta({ description: 'Transitions the record keeps (GET /jobs/:id/history), at most 50.' }),
    total: count.nullable().meta({ description: 'Transitions in all; null when the cut part is unknown.' }),
    counted_from: z.enum(['history', 'attempts', 'shown']).meta({
      description: 'history: the whole history; attempts: its cut start rebuilt from the attempt count; shown: the kept part only.',
    }),
  }),
}).meta({ id: 'JobPath' });

/** `GET /readyz`. */
export const readinessSchema = z.strictObject({ status: z.enum(['ready', 'draining', 'storage_unavailable']) }).meta({ id: 'Readiness' });
