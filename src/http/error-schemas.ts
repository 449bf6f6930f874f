/**
 * The error bodies, `{"error":{"code","message","details"?}}`, as zod schemas with a typed `details` per code:
 * what a client generated from the OpenAPI document sees when it switches on `error.code`. Every code of the
 * catalogue (`src/errors.ts`) must be listed here, the compiler checks that; the shapes are those the
 * `errors` factories build, and the contract tests validate real responses against them.
 */
import { z } from 'zod';
import type { ErrorCode } from '../errors.js';
import { JOB_STATES } from '../engine/job-record.js';
import { jobViewSchema } from './response-schemas.js';

const count = z.int().min(0);

/** The `details` of each code; `undefined` for the codes that carry none. */
const ERROR_DETAILS: Record<ErrorCode, z.ZodType | undefined> = {
  invalid_json: undefined,
  validation_failed: z
    .record(z.string(), z.array(z.string()))
    .meta({ description: 'The messages of each field, by its path (`payload.amount`); `body` or `query` for the whole.' }),
  unknown_job_type: z.strictObject({ type: z.string(), known_types: z.array(z.string()) }),
  unauthorized: undefined,
  forbidden: z.strictObject({
    required_scope: z.string().nullable().meta({ description: 'The scope the route needs; null: no token may call it.' }),
  }),
  payload_too_large: undefined,
  unsupported_media_type: undefined,
  queue_full: z.strictObject({ capacity: count, retry_after_seconds: count }),
  scheduled_full: z.strictObject({ scheduled_limit: count, retry_after_seconds: count }),
  rate_limited: z.strictObject({ limit_per_second: count, retry_after_seconds: count }),
  too_many_streams: z.strictObject({ max_streams: count }),
  host_not_allowed: z.strictObject({ host: z.string(), allowed: z.array(z.string()) }),
  duplicate_job: jobViewSchema.meta({ description: 'The job already known under this id.' }),
  not_cancellable: z.strictObject({ state: z.enum(JOB_STATES) }),
  not_retryable: z.strictObject({ state: z.enum(JOB_STATES) }),
  shutting_down: undefined,
  storage_unavailable: z.strictObject({ reason: z.string().meta({ description: "The store's own error message." }) }),
  not_found: undefined,
  method_not_allowed: undefined,
  internal: undefined,
};

/** `ValidationFailed` from `validation_failed`: the component name of a code's error object. */
const componentName = (code: string) =>
  code.replace(/(^|_)([a-z])/g, (_match, _sep, letter: string) => letter.toUpperCase()) + 'Error';

/** The `error` object of one code, registered as a component of the document. */
function errorObject(code: ErrorCode) {
  const details = ERROR_DETAILS[code];
  return z
    .strictObject({
      code: z.literal(code),
      message: z.string().meta({ description: 'What went wrong and what to do, for a person.' }),
      ...(details ? { details } : {}),
    })
    .meta({ id: componentName(code) });
}

const ERROR_OBJECTS = Object.fromEntries(
  (Object.keys(ERROR_DETAILS) as ErrorCode[]).map((code) => [code, errorObject(code)]),
) as Record<ErrorCode, ReturnType<typeof errorObject>>;

/** The `error` object of any of `codes`, told apart by `code`. */
export function errorObjectOf(codes: readonly ErrorCode[]) {
  const objects = codes.map((code) => ERROR_OBJECTS[code]);
  if (objects.length === 1) return objects[0]!;
  return z.discriminatedUnion('code', objects as [(typeof objects)[0], ...typeof objects]);
}

/** An error response's body for `codes`. */
export const errorBodyOf = (codes: readonly ErrorCode[]) => z.strictObject({ error: errorObjectOf(codes) });

/** Every code: what a batch item's `error` may be, and what any error response parses with. */
export const ALL_ERROR_CODES = Object.keys(ERROR_DETAILS) as ErrorCode[];
export const errorBodySchema = errorBodyOf(ALL_ERROR_CODES);

/** `POST /jobs/batch`: one result per item, in order (here because each result may carry an error object). */
export const batchReplySchema = z.strictObject({
  results: z.array(
    z.strictObject({
      id: z.string().nullable().meta({ description: 'The id sent or generated; null when there is none.' }),
      status: z.int().meta({ description: 'The status POST /jobs would have answered with.' }),
      error: errorObjectOf(ALL_ERROR_CODES).optional(),
    }),
  ),
}).meta({ id: 'BatchReply' });
