import type { Middleware } from 'koa';
import type { Logger } from 'pino';

/** Logs one info line per request — method, path, status, duration_ms — once the response is settled. */
export function requestLog(logger: Logger): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
      logger.info({ method: ctx.method, path: ctx.path, status: ctx.status, duration_ms: durationMs }, 'request');
    }
  };
}
