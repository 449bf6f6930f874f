/**
 * RATE_LIMIT_PER_S: how many jobs each client may submit per second, counted in fixed one-second windows by
 * rate-limiter-flexible. A client is its access token's name, or, with no tokens configured, its address. A
 * batch counts its items (at most the whole second's allowance, so that a batch larger than it can still pass
 * once the window is fresh).
 *
 * Beyond the limit: 429 `rate_limited` with `Retry-After`, a code of its own, distinct from `queue_full` (which
 * says the service is full, for everyone). The counts live in this process, or, on a shared store, in the
 * store (`SharedStore.rateLimiter`), so that the instances of a cluster give a client one allowance between them.
 */
import type { Context, Middleware } from 'koa';
import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { errors } from '../errors.js';

/**
 * The middleware, or undefined when `perSecond` is 0 (no limit). Runs after the body is parsed. `shared`: where
 * the counts live when they are the cluster's (given `perSecond` points a second); default, this process.
 */
export function submissionRateLimit(
  perSecond: number,
  shared?: (points: number, durationS: number) => RateLimiterAbstract,
): Middleware | undefined {
  if (perSecond === 0) return undefined;
  const limiter = shared?.(perSecond, 1) ?? new RateLimiterMemory({ points: perSecond, duration: 1 });
  return async (ctx, next) => {
    const client = typeof ctx.state.token === 'string' ? `token:${ctx.state.token}` : `address:${ctx.ip}`;
    try {
      await limiter.consume(client, Math.min(submissionsIn(ctx), perSecond));
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      throw errors.rateLimited(perSecond, Math.max(1, Math.ceil(refusal.msBeforeNext / 1000)));
    }
    await next();
  };
}

/** The jobs a submission carries: a batch's items, else one. */
function submissionsIn(ctx: Context): number {
  const body = ctx.request.body as { jobs?: unknown } | undefined;
  return Array.isArray(body?.jobs) ? Math.max(1, body.jobs.length) : 1;
}
