/**
 * The HTTP side of the metrics (`src/metrics.ts`): two small middlewares.
 * - `requestMetrics` sits outside the error middleware, so it sees the final status of every request, errors
 *   included. A `GET /events` stream counts the time to open it.
 * - `admissionRejections` sits inside it, next to the routes, and sees the `ServiceError` a refused admission
 *   throws, before it is rendered. That is where the refusal is decided: the submit handler (validation,
 *   duplicate, and the engine's shutting_down and queue_full) and the manual retry (shutting_down, queue_full).
 */
import type { Context, Middleware } from 'koa';
import { ServiceError, type ErrorCode } from '../errors.js';
import type { RejectionReason, ServiceMetrics } from '../metrics.js';

/** The route label of a request no route matched (a 404 or a 405): one series, whatever the URL. */
export const UNMATCHED_ROUTE = 'unmatched';

/** A body that cannot become a job, whatever its flaw, is a `validation` rejection. */
const SUBMISSION_REASONS: Partial<Record<ErrorCode, RejectionReason>> = {
  invalid_json: 'validation',
  validation_failed: 'validation',
  unknown_job_type: 'validation',
  payload_too_large: 'validation',
  unsupported_media_type: 'validation',
  duplicate_job: 'duplicate',
  queue_full: 'queue_full',
  scheduled_full: 'scheduled_full',
  shutting_down: 'shutting_down',
};

/** A manual retry is an admission too, but only capacity and a shutdown refuse it (not_retryable is not). */
const RETRY_REASONS: Partial<Record<ErrorCode, RejectionReason>> = {
  queue_full: 'queue_full',
  shutting_down: 'shutting_down',
};

/** The admitting routes, as `METHOD pattern`. */
const ADMISSIONS: Record<string, Partial<Record<ErrorCode, RejectionReason>>> = {
  'POST /jobs': SUBMISSION_REASONS,
  'POST /enqueue': SUBMISSION_REASONS,
  'POST /jobs/:id/retry': RETRY_REASONS,
};

/** @koa/router sets `_matchedRoute` to the path pattern of the route that handled the request. */
const matchedRoute = (ctx: Context): string | undefined => (ctx as Context & { _matchedRoute?: string })._matchedRoute;

export function requestMetrics(metrics: ServiceMetrics): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const seconds = (performance.now() - started) / 1000;
      metrics.observeRequest(ctx.method, matchedRoute(ctx) ?? UNMATCHED_ROUTE, ctx.status, seconds);
    }
  };
}

export function admissionRejections(metrics: ServiceMetrics): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (error instanceof ServiceError) {
        const reason = ADMISSIONS[`${ctx.method} ${matchedRoute(ctx)}`]?.[error.code];
        if (reason) metrics.countRejection(reason);
      }
      throw error;
    }
  };
}

/**
 * Counts one refused item of a `POST /jobs/batch`: the batch answers 200 and reports each refusal in its
 * results, so the middleware above never sees them.
 */
export function countBatchItemRejection(metrics: ServiceMetrics, error: ServiceError): void {
  const reason = SUBMISSION_REASONS[error.code];
  if (reason) metrics.countRejection(reason);
}
