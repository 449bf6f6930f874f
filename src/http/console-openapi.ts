/**
 * The console's operations (`routes/console.ts`) for the OpenAPI document, kept beside it so that
 * `openapi.ts` only lists them.
 */
import { z } from 'zod';
import type { Operation, Reply } from './openapi.js';
import {
  cancelAllReplySchema,
  dispatchReplySchema,
  failuresSchema,
  retryAllReplySchema,
  seriesSchema,
} from './console-schemas.js';
import { cancelAllSchema, failuresQuerySchema, retryAllSchema } from './schemas.js';

/** The console's response schemas, by component name. */
export const CONSOLE_COMPONENTS: [string, z.ZodType][] = [
  ['RetryAllReply', retryAllReplySchema],
  ['CancelAllReply', cancelAllReplySchema],
  ['DispatchState', dispatchReplySchema],
  ['Series', seriesSchema],
  ['FailureGroups', failuresSchema],
];

/** A request body's JSON Schema, the input side (fields with a default are optional). */
function bodyOf(schema: z.ZodType) {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  return json;
}

export function consoleOperations({ err }: { err: (description: string) => Reply }): Operation[] {
  const bodyErrors = {
    '400': err('`invalid_json`, or `validation_failed` with a message per field in `details`.'),
    '413': err('`payload_too_large`.'),
    '415': err('`unsupported_media_type`.'),
  };
  return [
    {
      method: 'post',
      path: '/jobs/retry-all',
      tag: 'operations',
      summary: 'Retry every failed (or cancelled) job, of one type or all, until the capacity is reached.',
      body: bodyOf(retryAllSchema),
      responses: {
        '200': { description: 'How many were retried, skipped and remain; what stopped it early.', json: retryAllReplySchema },
        ...bodyErrors,
        '503': err('`shutting_down`: nothing was retried.'),
      },
    },
    {
      method: 'post',
      path: '/jobs/cancel-all',
      tag: 'operations',
      summary: 'Cancel every queued (or backoff) job, of one type or all.',
      body: bodyOf(cancelAllSchema),
      responses: {
        '200': { description: 'How many were cancelled, skipped and remain.', json: cancelAllReplySchema },
        ...bodyErrors,
      },
    },
    {
      method: 'post',
      path: '/admin/pause',
      tag: 'operations',
      summary: 'Hold dispatch: no waiting job starts; submissions are still admitted; no shutdown follows.',
      responses: {
        '200': { description: 'Dispatch is paused.', json: dispatchReplySchema },
        '503': err('`shutting_down`: a shutdown has begun.'),
      },
    },
    {
      method: 'post',
      path: '/admin/resume',
      tag: 'operations',
      summary: 'Let go of the hold of /admin/pause: the free workers take waiting jobs at once.',
      responses: { '200': { description: 'Dispatch runs.', json: dispatchReplySchema } },
    },
    {
      method: 'get',
      path: '/stats/series',
      tag: 'operations',
      summary: 'Per-second submitted, done and failed jobs, queue depth and busy workers, for the last 15 minutes.',
      responses: { '200': { description: 'The series.', json: seriesSchema } },
    },
    {
      method: 'get',
      path: '/stats/failures',
      tag: 'operations',
      summary: 'The failed jobs grouped by error message, most first.',
      query: failuresQuerySchema,
      responses: {
        '200': { description: 'The groups.', json: failuresSchema },
        '400': err('`validation_failed`: a bad type or top.'),
      },
    },
  ];
}
