import type { Middleware } from 'koa';
import type { Logger } from 'pino';

/**
 * Logs one info line per request — method, path, status, duration_ms, and `token`, the name of the access token
 * that was accepted (never the token) — once the response is settled. The path is logged without the query.
 *
 * With `logPayloads` (LOG_PAYLOADS=true) a request's parsed JSON body goes in a debug line too, payloads included:
 * a debugging aid for a trusted log. Otherwise no body is logged at all, and the logger hides any payload
 * (`logger.ts`).
 */
export function requestLog(logger: Logger, logPayloads = false): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
      if (logPayloads && ctx.request.body !== undefined) {
        logger.debug({ method: ctx.method, path: ctx.path, body: ctx.request.body }, 'request body');
      }
      logger.info(
        { method: ctx.method, path: ctx.path, status: ctx.status, duration_ms: durationMs, token: ctx.state.token },
        'request',
      );
    }
  };
}
