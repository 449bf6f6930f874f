/**
 * The shapes the API accepts, as zod schemas. Messages are written here rather than left to zod, so that the
 * per-field `details` of a 400 `validation_failed` are stable and say what is allowed.
 */
import { z } from 'zod';
import { JOB_STATES } from '../engine/job-record.js';
import { jobTypeNameSchema } from '../job-types/job-type.js';

/** The longest id, in Unicode code points. */
export const ID_MAX_CODE_POINTS = 256;
/** `limit` of `GET /jobs` when the query leaves it out. */
export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 1000;
/**
 * The deepest nesting a payload may have. Deeper values parse, but `JSON.stringify` overflows the stack on them
 * (about 5000 levels), so such a job could never be shown again.
 */
export const MAX_PAYLOAD_DEPTH = 128;

// \p{Cc}: C0 and C1 controls and DEL. \p{Cs}: a lone surrogate, which cannot be url-encoded into a Location.
const CONTROL_OR_LONE_SURROGATE = /[\p{Cc}\p{Cs}]/u;

const codePoints = (text: string) => [...text].length;

export const jobIdSchema = z
  .string({ error: 'Must be a string.' })
  .refine((id) => codePoints(id) >= 1 && codePoints(id) <= ID_MAX_CODE_POINTS, {
    error: `Must be 1–${ID_MAX_CODE_POINTS} characters (Unicode code points).`,
  })
  .refine((id) => !CONTROL_OR_LONE_SURROGATE.test(id), {
    error: 'Must not contain control characters or unpaired surrogates.',
  })
  // URL parsers resolve `.` and `..` (even as %2E) as path steps, so /jobs/.. could never reach the job.
  .refine((id) => id !== '.' && id !== '..', { error: 'Must not be "." or "..", which a URL path cannot hold.' });

/** Whether a parsed JSON value nests deeper than `limit` arrays/objects; iterative, so deep input cannot overflow. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > limit) return true;
    for (const inner of Object.values(current)) pending.push([inner, depth + 1]);
  }
  return false;
}

const payloadSchema = z
  .unknown()
  .refine((payload) => !nestsDeeperThan(payload, MAX_PAYLOAD_DEPTH), {
    error: `Must nest at most ${MAX_PAYLOAD_DEPTH} arrays or objects deep.`,
  })
  .default(null);

/** Messages of the object-level issues: an unknown key, or a value that is not an object at all. */
const objectIssue = (allowed: string[]) => (issue: { code?: string }) =>
  issue.code === 'unrecognized_keys' ? `Unknown field; allowed: ${allowed.join(', ')}.` : 'Must be a JSON object.';

/**
 * The body of `POST /jobs` and `POST /enqueue`. `maxRetriesLimit` is the configured `MAX_RETRIES_LIMIT`. A
 * missing `type` and `max_retries` are left out here: the engine fills them in from the job types.
 */
export function submissionSchema(maxRetriesLimit: number) {
  const retries = `Must be an integer from 0 to ${maxRetriesLimit}.`;
  return z.strictObject(
    {
      id: jobIdSchema.optional(),
      type: jobTypeNameSchema.optional(),
      payload: payloadSchema,
      max_retries: z
        .number({ error: retries })
        .int({ error: retries })
        .min(0, { error: retries })
        .max(maxRetriesLimit, { error: retries })
        .optional(),
    },
    { error: objectIssue(['id', 'type', 'payload', 'max_retries']) },
  );
}

export type Submission = z.output<ReturnType<typeof submissionSchema>>;

const limitMessage = `Must be an integer from 1 to ${MAX_LIST_LIMIT}.`;
const timeMessage = 'Must be an ISO-8601 date-time, e.g. 2026-01-02T03:04:05Z.';
/** A query's time: ISO-8601 with a zone (Z or an offset), read as epoch ms. */
const isoTime = z
  .string({ error: timeMessage })
  .refine((text) => /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(text) && !Number.isNaN(Date.parse(text)), {
    error: timeMessage,
  })
  .transform((text) => Date.parse(text));

/** The query of `GET /jobs`. Values arrive as strings (an array when repeated, which is refused). */
export const listQuerySchema = z.strictObject(
  {
    state: z.enum(JOB_STATES, { error: `Must be one of ${JOB_STATES.join(', ')}.` }).optional(),
    type: z.string({ error: 'Must be a single job type.' }).optional(),
    limit: z
      .string({ error: limitMessage })
      .regex(/^\d+$/, { error: limitMessage })
      .transform(Number)
      .pipe(z.number().min(1, { error: limitMessage }).max(MAX_LIST_LIMIT, { error: limitMessage }))
      .default(DEFAULT_LIST_LIMIT),
    cursor: z.string({ error: 'Must be a single cursor string.' }).optional(),
    id_prefix: z
      .string({ error: 'Must be a single string.' })
      .min(1, { error: 'Must not be empty.' })
      .optional()
      .meta({ description: 'Jobs whose id starts with this, without regard to case.' }),
    created_after: isoTime.optional().meta({ description: 'Jobs submitted at or after this time (ISO-8601).' }),
    created_before: isoTime.optional().meta({ description: 'Jobs submitted at or before this time (ISO-8601).' }),
    last_error: z
      .string({ error: 'Must be a single string.' })
      .optional()
      .meta({ description: 'Jobs whose latest error is exactly this message.' }),
  },
  { error: objectIssue(['state', 'type', 'limit', 'cursor', 'id_prefix', 'created_after', 'created_before', 'last_error']) },
);

/** The most jobs one `POST /jobs/batch` may carry. */
export const MAX_BATCH_JOBS = 1000;

const batchJobsMessage = `Must be an array of at most ${MAX_BATCH_JOBS} jobs.`;

/**
 * The body of `POST /jobs/batch`: `{"jobs":[…]}`. Only the envelope is checked here; each item is validated on
 * its own with `submissionSchema`, so that one bad item is a 400 in its result rather than for the whole batch.
 */
export const batchSchema = z.strictObject(
  {
    jobs: z.array(z.unknown(), { error: batchJobsMessage }).max(MAX_BATCH_JOBS, { error: batchJobsMessage }),
  },
  { error: objectIssue(['jobs']) },
);

const typeField = z.string({ error: 'Must be a single job type.' }).optional();
const noExtraFields = (allowed: string[]) => ({ error: objectIssue(allowed) });

/** The body of `POST /jobs/retry-all`: which jobs to retry (default: every failed one). */
export const retryAllSchema = z.strictObject(
  {
    state: z.enum(['failed', 'cancelled'], { error: 'Must be failed or cancelled.' }).default('failed'),
    type: typeField,
  },
  noExtraFields(['state', 'type']),
);

/** The body of `POST /jobs/cancel-all`: which jobs to cancel (default: every queued one). */
export const cancelAllSchema = z.strictObject(
  {
    state: z.enum(['queued', 'backoff'], { error: 'Must be queued or backoff.' }).default('queued'),
    type: typeField,
  },
  noExtraFields(['state', 'type']),
);

const topMessage = 'Must be an integer from 1 to 100.';
/** The query of `GET /stats/failures`. */
export const failuresQuerySchema = z.strictObject(
  {
    type: typeField,
    top: z
      .string({ error: topMessage })
      .regex(/^\d+$/, { error: topMessage })
      .transform(Number)
      .pipe(z.number().min(1, { error: topMessage }).max(100, { error: topMessage }))
      .default(10),
  },
  noExtraFields(['type', 'top']),
);
