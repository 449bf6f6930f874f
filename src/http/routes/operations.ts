import type Router from '@koa/router';
import type { JobQueue } from '../../engine/job-queue.types.js';
import { afterPendingSignals } from '../after-pending-signals.js';
import { jobView } from '../job-view.js';

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
  router.post('/jobs/:id/retry', afterPendingSignals, async (ctx) => {
    const record = await queue.retry(ctx.params.id!);
    ctx.status = 202;
    ctx.body = jobView(record);
  });
}
