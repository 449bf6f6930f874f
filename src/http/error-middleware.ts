import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { errors, ServiceError } from '../errors.js';

/** The error body every route shares. `details` is left out when the error has none. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/**
 * The one error-handling middleware. A `ServiceError` becomes its status, its headers (`Retry-After`, `Allow`)
 * and the JSON error body. Anything else is a bug: its detail goes to the log, and the client gets a generic
 * 500 `internal`, never a stack trace.
 */
export function errorMiddleware(logger: Logger): Middleware {
  return async (ctx, next) => {
    // Set before any handler ran (the security headers): they describe every response, a 500 too.
    const outer = new Set(Object.keys(ctx.response.headers));
    try {
      await next();
    } catch (caught) {
      let error: ServiceError;
      if (caught instanceof ServiceError) {
        error = caught;
      } else {
        logger.error({ err: caught, method: ctx.method, path: ctx.path }, 'unexpected error while handling a request');
        error = errors.internal();
        // Headers a failed handler may have set (e.g. Location) do not describe this response.
        for (const name of Object.keys(ctx.response.headers)) if (!outer.has(name)) ctx.remove(name);
      }
      const body: ErrorBody = { error: { code: error.code, message: error.message, details: error.details } };
      ctx.status = error.status;
      ctx.set(error.headers);
      ctx.body = body;
    }
  };
}
