/**
 * The answers of the console's routes (`routes/console.ts`), as zod schemas for the OpenAPI document (each a
 * component, by its `id`). Strict,
 * like `response-schemas.ts`, so that a test parsing a real answer fails on a field the document does not know.
 */
import { z } from 'zod';
import { LIFECYCLES } from '../engine/job-queue.types.js';

const count = z.int().min(0);
const stoppedBy = z.enum(['queue_full', 'shutting_down']).nullable().meta({
  description: 'What stopped the action before the end of the list: the capacity, or a shutdown; null when nothing did.',
});
const remaining = count.meta({ description: 'Jobs still in the state (of the type) afterwards.' });
const skipped = count.meta({ description: 'Jobs that had moved on by the time the action reached them.' });

/** `POST /jobs/retry-all`. */
export const retryAllReplySchema = z
  .strictObject({ retried: count, skipped, remaining, stopped_by: stoppedBy })
  .meta({ id: 'RetryAllReply' });

/** `POST /jobs/cancel-all`. */
export const cancelAllReplySchema = z
  .strictObject({ cancelled: count, skipped, remaining, stopped_by: stoppedBy })
  .meta({ id: 'CancelAllReply' });

/** `POST /admin/pause` and `POST /admin/resume`; `GET /debug/status` has these fields too. */
export const dispatchReplySchema = z.strictObject({
  lifecycle: z.enum(LIFECYCLES).meta({
    description: 'The supervisor: accepting jobs; pausing (a durable shutdown parking its running jobs); draining; stopped.',
  }),
  dispatch: z.enum(['running', 'paused']).meta({
    description: 'paused: an operator holds dispatch (POST /admin/pause), and no waiting job is started.',
  }),
}).meta({ id: 'DispatchState' });

export type DispatchReply = z.output<typeof dispatchReplySchema>;

const perSecond = z.array(count);
const level = z.array(count.nullable());

/** `GET /stats/series`. */
export const seriesSchema = z
  .strictObject({
    interval_ms: z.literal(1000),
    seconds: z.array(z.int()).meta({ description: 'Each point\'s second, epoch seconds, oldest first (at most 900).' }),
    submitted: perSecond,
    done: perSecond,
    failed: perSecond,
    queue_depth: level.meta({ description: 'Queued jobs, last sampled in or before that second; null before any.' }),
    busy_workers: level,
  })
  .meta({ id: 'Series', description: 'The last 15 minutes, one point a second, as columns.' });

/** `GET /stats/failures`. */
export const failuresSchema = z.strictObject({
  scanned: count.meta({ description: 'Failed jobs read: the newest 10,000 at most.' }),
  complete: z.boolean().meta({ description: 'Whether every failed job (of the type) was read.' }),
  groups: z.array(
    z.strictObject({
      message: z.string().meta({ description: 'The latest error; "(no error message)" for none. GET /jobs?last_error= lists them.' }),
      count,
      latest_id: z.string(),
      latest_at: z.iso.datetime(),
    }),
  ),
}).meta({ id: 'FailureGroups' });
