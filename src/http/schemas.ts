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

// \p{Cf}: invisible formatting characters — bidirectional overrides and isolates (U+202A–202E, U+2066–2069), which
// make an id display as another (`invoice-\u202Efdp.exe` shows as `invoice-exe.pdf`), zero-width spaces and
// joiners, the byte order mark: two ids that look the same must not be two jobs.
const INVISIBLE_FORMATTING = /\p{Cf}/u;

const codePoints = (text: string) => [...text].length;

export const jobIdSchema = z
  .string({ error: 'Must be a string.' })
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

const payloadSchema = z
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
    include_payload: z
      .enum(['true', 'false'], { error: 'Must be true or false.' })
      .transform((value) => value === 'true')
      .default(true),
  },
  { error: objectIssue(['state', 'type', 'limit', 'cursor', 'include_payload']) },
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
