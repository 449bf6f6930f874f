import type { Middleware } from 'koa';
import type { Logger } from 'pino';

/**
 * Logs one info line per request — method, path, status, duration_ms, and `token`, the name of the access token
 * that was accepted (never the token) — once the response is settled. The path is logged without the query.
 */
export function requestLog(logger: Logger): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
      logger.info(
        { method: ctx.method, path: ctx.path, status: ctx.status, duration_ms: durationMs, token: ctx.state.token },
        'request',
      );
    }
  };
}
