/**
 * The shapes the API accepts, as zod schemas. Messages are written here rather than left to zod, so that the
 * per-field `details` of a 400 `validation_failed` are stable and say what is allowed.
 */
import { z } from 'zod';
import { JOB_STATES } from '../engine/job-record.js';
import { jobTypeNameSchema } from '../job-types/job-type.js';
import { PRIORITY_MAX, PRIORITY_MIN } from '../engine/job-fields.js';

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

// \p{Cf}: invisible formatting characters — bidirectional overrides and isolates (U+202A–202E, U+2066–2069), which
// make an id display as another (`invoice-\u202Efdp.exe` shows as `invoice-exe.pdf`), zero-width spaces and
// joiners, the byte order mark: two ids that look the same must not be two jobs.
const INVISIBLE_FORMATTING = /\p{Cf}/u;

const codePoints = (text: string) => [...text].length;

export const jobIdSchema = z
  .string({ error: 'Must be a string.' })
  // JSON Schema counts code points, as the checks below do; zod's own .min/.max would count UTF-16 units.
  .meta({ minLength: 1, maxLength: ID_MAX_CODE_POINTS })
  .refine((id) => codePoints(id) >= 1 && codePoints(id) <= ID_MAX_CODE_POINTS, {
    error: `Must be 1–${ID_MAX_CODE_POINTS} characters (Unicode code points).`,
  })
  .refine((id) => !CONTROL_OR_LONE_SURROGATE.test(id), {
    error: 'Must not contain control characters or unpaired surrogates.',
  })
  .refine((id) => !INVISIBLE_FORMATTING.test(id), {
    error: 'Must not contain invisible formatting characters (bidirectional overrides, zero-width characters).',
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

/**
 * The path (keys and indexes) of the first number in `value` that is not finite, or undefined. `JSON.parse` reads
 * `1e400` as Infinity, which JSON cannot write back (`JSON.stringify` makes it null): such a payload would be
 * stored as something else than was sent. Iterative, like `nestsDeeperThan`; run after it, so depth is bounded.
 */
export function nonFiniteNumberPath(value: unknown): (string | number)[] | undefined {
  const pending: [unknown, (string | number)[]][] = [[value, []]];
  while (pending.length > 0) {
    const [current, path] = pending.pop()!;
    if (typeof current === 'number' && !Number.isFinite(current)) return path;
    if (current === null || typeof current !== 'object') continue;
    const entries = Array.isArray(current) ? current.map((item, index) => [index, item] as const) : Object.entries(current);
    for (let i = entries.length - 1; i >= 0; i--) pending.push([entries[i]![1], [...path, entries[i]![0]]]);
  }
  return undefined;
}

export const payloadSchema = z
  .unknown()
  .superRefine((payload, context) => {
    if (nestsDeeperThan(payload, MAX_PAYLOAD_DEPTH)) {
      context.addIssue({ code: 'custom', message: `Must nest at most ${MAX_PAYLOAD_DEPTH} arrays or objects deep.` });
      return;
    }
    const path = nonFiniteNumberPath(payload);
    if (path) {
      context.addIssue({
        code: 'custom',
        path,
        message: 'Must be a finite number: this one is too large for JSON to carry (it would be stored as null).',
      });
    }
  })
  .default(null)
  .meta({
    description: 'Any JSON value, kept as sent; null when left out.',
    // The default is said in words: client generators (openapi-typescript) make a property with a `default`
    // keyword required in a component schema, and the body `{"id":"job-1"}` would not type-check.
    override: ({ jsonSchema }: { jsonSchema: Record<string, unknown> }) => void delete jsonSchema.default,
  });

/** Messages of the object-level issues: an unknown key, or a value that is not an object at all. */
export const objectIssue = (allowed: string[]) => (issue: { code?: string }) =>
  issue.code === 'unrecognized_keys' ? `Unknown field; allowed: ${allowed.join(', ')}.` : 'Must be a JSON object.';

const priorityMessage = `Must be an integer from ${PRIORITY_MIN} to ${PRIORITY_MAX}.`;
/** A job's `priority`, as a submission and a schedule take it. */
export const prioritySchema = z
  .number({ error: priorityMessage })
  .int({ error: priorityMessage })
  .min(PRIORITY_MIN, { error: priorityMessage })
  .max(PRIORITY_MAX, { error: priorityMessage });

/** A job's `max_retries`, as a submission and a schedule take it; `maxRetriesLimit` is MAX_RETRIES_LIMIT. */
export function maxRetriesSchema(maxRetriesLimit: number) {
  const retries = `Must be an integer from 0 to ${maxRetriesLimit}.`;
  return z.number({ error: retries }).int({ error: retries }).min(0, { error: retries }).max(maxRetriesLimit, { error: retries });
}
const runAtMessage = 'Must be an ISO-8601 date and time with an offset, e.g. 2026-12-24T09:00:00+01:00.';
const delayMessage = 'Must be an integer number of milliseconds, 0 or more.';

/**
 * The body of `POST /jobs` and `POST /enqueue`. `run_at` (absolute) or `delay_ms` (relative) schedule the job for
 * later; the engine refuses both at once and a time beyond MAX_DELAY_MS, naming the field. `maxRetriesLimit` is the configured `MAX_RETRIES_LIMIT`. A
 * missing `type` and `max_retries` are left out here: the engine fills them in from the job types.
 */
export function submissionSchema(maxRetriesLimit: number) {
  return z
    .strictObject(
      {
        id: jobIdSchema.optional(),
        type: jobTypeNameSchema.optional(),
        payload: payloadSchema,
        max_retries: maxRetriesSchema(maxRetriesLimit).optional(),
        priority: prioritySchema.optional(),
        run_at: z.iso
          .datetime({ offset: true, error: runAtMessage })
          .transform((text) => Date.parse(text))
          .optional(),
        delay_ms: z.number({ error: delayMessage }).int({ error: delayMessage }).min(0, { error: delayMessage }).optional(),
      },
      { error: objectIssue(['id', 'type', 'payload', 'max_retries', 'priority', 'run_at', 'delay_ms']) },
    )
    .meta({ id: 'Submission', description: 'A job to run; only what has no default is needed (nothing at all).' });
}

export type Submission = z.output<ReturnType<typeof submissionSchema>>;

/**
 * A numeric query parameter: digits only (no sign, space, exponent or hex, which `Number` would take), from
 * `min` to `max`. The document shows it as what a client sends, an integer with its bounds and default,
 * rather than as the string the server receives.
 */
export function queryInteger({ min, max, default: fallback }: { min: number; max: number; default: number }) {
  const message = `Must be an integer from ${min} to ${max}.`;
  return z
    .string({ error: message })
    .regex(/^\d+$/, { error: message })
    .transform(Number)
    .pipe(z.number().min(min, { error: message }).max(max, { error: message }))
    .default(fallback)
    .meta({
      override: ({ jsonSchema }: { jsonSchema: Record<string, unknown> }) => {
        for (const key of Object.keys(jsonSchema)) delete jsonSchema[key];
        Object.assign(jsonSchema, { type: 'integer', minimum: min, maximum: max, default: fallback });
      },
    });
}

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
    limit: queryInteger({ min: 1, max: MAX_LIST_LIMIT, default: DEFAULT_LIST_LIMIT }),
    cursor: z.string({ error: 'Must be a single cursor string.' }).optional(),
    include_payload: z
      .enum(['true', 'false'], { error: 'Must be true or false.' })
      .transform((value) => value === 'true')
      .default(true),
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
  { error: objectIssue(['state', 'type', 'limit', 'cursor', 'include_payload', 'id_prefix', 'created_after', 'created_before', 'last_error']) },
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
    jobs: z
      .array(
        z.unknown().meta({
          description:
            'Any JSON value: each item is decided on its own as a Submission (POST /jobs), so a bad item gets its ' +
            'own 400 in the results rather than failing the batch.',
        }),
        { error: batchJobsMessage },
      )
      .max(MAX_BATCH_JOBS, { error: batchJobsMessage }),
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

/** The query of `GET /stats/failures`. */
export const failuresQuerySchema = z.strictObject(
  {
    type: typeField,
    top: queryInteger({ min: 1, max: 100, default: 10 }),
  },
  noExtraFields(['type', 'top']),
);
