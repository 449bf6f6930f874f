import type Router from '@koa/router';
import type { JobQueue } from '../../engine/job-queue.types.js';
import { afterPendingSignals } from '../after-pending-signals.js';
import { jobView } from '../job-view.js';
import { z } from 'zod';
import { CANCEL_WAIT_MS } from '../../engine/job-queue.js';
import { jobViewSchema } from '../response-schemas.js';
import { documentRoute, errorReply, jobIdParams, jobNotFound, jsonReply, retryAfterHeader, storageUnavailable, unavailableOrDraining } from '../route-docs.js';

export interface OperationRoutesDeps {
  queue: JobQueue;
  /** The cancel's wait for a running attempt, in ms. Default: the engine's CANCEL_WAIT_MS (1000). */
  cancelWaitMs?: number;
}

/**
 * An operator's moves on one job; both are events of the job chart (CANCEL, RETRY), decided by the engine.
 *
 * `POST /jobs/:id/cancel`:
 * - 200 with the job, `cancelled`, when it was queued or in backoff, or when its running attempt stopped within
 *   the wait;
 * - 202 with the job still `running` and `"cancel_requested": true` when the attempt has not stopped yet: its
 *   signal is aborted, and the job becomes `cancelled` (and frees its worker) once the attempt stops;
 * - 409 `not_cancellable` with `details.state` for a finished job (done, failed, cancelled); 404 `not_found`.
 *
 * `POST /jobs/:id/retry`: a failed or cancelled job goes back to the queue with `max_retries` fresh retries.
 * - 202 with the job (queued, or already running when a worker was free);
 * - 409 `not_retryable` with `details.state` for any other state; 429 `queue_full` with `Retry-After`;
 *   503 `shutting_down`; 404 `not_found`.
 *
 * Neither reads a body.
 */
export function operationRoutes(router: Router, { queue, cancelWaitMs }: OperationRoutesDeps): void {
  documentRoute(router, 'POST /jobs/:id/cancel', {
    tag: 'operations',
    summary: 'Cancel a job.',
    description:
      `A queued or backoff job is cancelled at once. A running job has its attempt's signal aborted; the ` +
      `response waits up to ${CANCEL_WAIT_MS} ms for the attempt to stop.`,
    requestParams: { path: jobIdParams },
    responses: {
      '200': jsonReply('Cancelled.', jobViewSchema),
      '202': jsonReply('The attempt has not stopped yet: still running, with `cancel_requested: true`.', jobViewSchema),
      '404': jobNotFound,
      '409': errorReply('`not_cancellable`: the job is finished; `details.state` is its state.', ['not_cancellable']),
      '503': storageUnavailable,
    },
  });
  router.post('/jobs/:id/cancel', async (ctx) => {
    const record = await queue.cancel(ctx.params.id!, cancelWaitMs);
    if (record.state === 'running') {
      ctx.status = 202;
      ctx.body = { ...jobView(record), cancel_requested: true };
    } else {
      ctx.status = 200;
      ctx.body = jobView(record);
    }
  });

  // An admission: it waits for the signals read in the same poll phase as its request (a SIGTERM goes first).
  documentRoute(router, 'POST /jobs/:id/retry', {
    tag: 'operations',
    summary: 'Put a failed or cancelled job back in the queue, with max_retries fresh retries.',
    requestParams: { path: jobIdParams },
    responses: {
      '202': jsonReply('Queued again (or already running).', jobViewSchema),
      '404': jobNotFound,
      '409': errorReply('`not_retryable`: only failed or cancelled jobs can be retried; `details.state` is its state.', [
        'not_retryable',
      ]),
      '429': errorReply('`queue_full`.', ['queue_full'], z.object({ 'Retry-After': retryAfterHeader })),
      '503': unavailableOrDraining,
    },
  });
  router.post('/jobs/:id/retry', afterPendingSignals, async (ctx) => {
    const record = await queue.retry(ctx.params.id!);
    ctx.status = 202;
    ctx.body = jobView(record);
  });
}
