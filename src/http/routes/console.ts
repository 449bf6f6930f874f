import type Router from '@koa/router';
import type { Context } from 'koa';
import { cancelAll, retryAll, type BulkResult } from '../../console/bulk-actions.js';
import { failureGroups } from '../../console/failure-groups.js';
import type { ThroughputSeries } from '../../console/throughput-series.js';
import type { JobQueue } from '../../engine/job-queue.types.js';
import { afterPendingSignals } from '../after-pending-signals.js';
import { iso } from '../job-view.js';
import { jsonBody } from '../json-body.js';
import { cancelAllReplySchema, dispatchReplySchema, failuresSchema, retryAllReplySchema, seriesSchema, type DispatchReply } from '../console-schemas.js';
import { bodyRefusals, documentRoute, errorReply, jsonReply, storageUnavailable, unavailableOrDraining, type RouteDoc } from '../route-docs.js';
import { cancelAllSchema, failuresQuerySchema, retryAllSchema } from '../schemas.js';
import { validate } from '../validate.js';

export interface ConsoleRoutesDeps {
  queue: JobQueue;
  series: ThroughputSeries;
  /** The largest body read, in bytes (MAX_BODY_BYTES). */
  maxBodyBytes: number;
}

/** The dispatch state of `POST /admin/pause`, `/admin/resume` and `GET /debug/status`. */
export const dispatchState = (queue: JobQueue): DispatchReply => ({
  lifecycle: queue.lifecycle(),
  dispatch: queue.dispatchPaused() ? ('paused' as const) : ('running' as const),
});

/**
 * What an operator's console needs beyond one job's routes:
 * - `POST /admin/pause`: holds dispatch (no waiting job starts; submissions are still admitted, running
 *   attempts go on), without a shutdown; 503 `shutting_down` once one began. `POST /admin/resume` lets go.
 *   Both answer `{"lifecycle","dispatch"}`.
 * - `POST /jobs/retry-all` `{"state":"failed"|"cancelled","type"?}` and `POST /jobs/cancel-all`
 *   `{"state":"queued"|"backoff","type"?}`: every job in the state, through the one-job operations; a retry
 *   stops at the capacity. 200 with how many were acted on, skipped and remain (`console/bulk-actions.ts`).
 * - `GET /stats/series`: the last 15 minutes, a point a second (`console/throughput-series.ts`).
 * - `GET /stats/failures?type=&top=`: the failed jobs grouped by error message (`console/failure-groups.ts`).
 */
export function consoleRoutes(router: Router, { queue, series, maxBodyBytes }: ConsoleRoutesDeps): void {
  const parseBody = jsonBody(maxBodyBytes);
  const bodyErrors = {
    '400': errorReply('`invalid_json`, or `validation_failed` with a message per field in `details`.', [
      'invalid_json',
      'validation_failed',
    ]),
    ...bodyRefusals,
  };

  // Both answer the dispatch state.
  const dispatchDoc = (summary: string, answer: string, refusals: RouteDoc['responses'] = {}): RouteDoc => ({
    tag: 'operations',
    summary,
    responses: { '200': jsonReply(answer, dispatchReplySchema), ...refusals },
  });
  documentRoute(
    router,
    'POST /admin/pause',
    dispatchDoc(
      'Hold dispatch: no waiting job starts; submissions are still admitted; no shutdown follows.',
      'Dispatch is paused.',
      {
        '503': errorReply(
          '`shutting_down`: a shutdown has begun. `storage_unavailable`: the shared store could not keep the hold (PostgreSQL).',
          ['shutting_down', 'storage_unavailable'],
        ),
      },
    ),
  );
  router.post('/admin/pause', async (ctx) => {
    await queue.pauseDispatch();
    ctx.body = dispatchState(queue);
  });

  documentRoute(
    router,
    'POST /admin/resume',
    dispatchDoc('Let go of the hold of /admin/pause: the free workers take waiting jobs at once.', 'Dispatch runs.', {
      '503': errorReply('`storage_unavailable`: the shared store could not keep the change (PostgreSQL).', ['storage_unavailable']),
    }),
  );
  router.post('/admin/resume', async (ctx) => {
    await queue.resumeDispatch();
    ctx.body = dispatchState(queue);
  });

  // Retries are admissions: they wait for the signals read in the same poll phase (a SIGTERM goes first).
  documentRoute(router, 'POST /jobs/retry-all', {
    tag: 'operations',
    summary: 'Retry every failed (or cancelled) job, of one type or all, until the capacity is reached.',
    requestBody: { required: true, content: { 'application/json': { schema: retryAllSchema } } },
    responses: {
      '200': jsonReply('How many were retried, skipped and remain; what stopped it early.', retryAllReplySchema),
      ...bodyErrors,
      '503': unavailableOrDraining,
    },
  });
  router.post('/jobs/retry-all', parseBody, afterPendingSignals, async (ctx: Context) => {
    const { acted, ...rest } = await retryAll(queue, validate(retryAllSchema, ctx.request.body, 'body'));
    ctx.body = { retried: acted, ...rest } satisfies Omit<BulkResult, 'acted'> & { retried: number };
  });

  documentRoute(router, 'POST /jobs/cancel-all', {
    tag: 'operations',
    summary: 'Cancel every queued (or backoff) job, of one type or all.',
    requestBody: { required: true, content: { 'application/json': { schema: cancelAllSchema } } },
    responses: {
      '200': jsonReply('How many were cancelled, skipped and remain.', cancelAllReplySchema),
      ...bodyErrors,
      '503': storageUnavailable,
    },
  });
  router.post('/jobs/cancel-all', parseBody, async (ctx: Context) => {
    const { acted, ...rest } = await cancelAll(queue, validate(cancelAllSchema, ctx.request.body, 'body'));
    ctx.body = { cancelled: acted, ...rest };
  });

  documentRoute(router, 'GET /stats/series', {
    tag: 'operations',
    summary: 'Per-second submitted, done and failed jobs, queue depth and busy workers, for the last 15 minutes.',
    responses: { '200': jsonReply('The series.', seriesSchema) },
  });
  router.get('/stats/series', (ctx) => {
    ctx.body = series.snapshot();
  });

  documentRoute(router, 'GET /stats/failures', {
    tag: 'operations',
    summary: 'The failed jobs grouped by error message, most first.',
    requestParams: { query: failuresQuerySchema },
    responses: {
      '200': jsonReply('The groups.', failuresSchema),
      '400': errorReply('`validation_failed`: a bad type or top.', ['validation_failed']),
      '503': storageUnavailable,
    },
  });
  router.get('/stats/failures', async (ctx) => {
    const query = validate(failuresQuerySchema, ctx.query, 'query');
    const found = await failureGroups(queue, query);
    ctx.body = { ...found, groups: found.groups.map((group) => ({ ...group, latest_at: iso(group.latest_at) })) };
  });
}
