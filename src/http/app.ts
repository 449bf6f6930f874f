/**
 * The HTTP service: a Koa app over the job queue facade. It holds no state of its own; every answer comes from
 * the `JobQueue` it is given.
 *
 * Middleware, outermost first:
 * 1. `requestLog`      one info line per request, with the final status;
 * 2. `errorMiddleware` the one place that renders errors as `{"error":{"code","message","details"}}`;
 * 3. the router        health, jobs and stats routes;
 * 4. `routeFallback`   reached only when no route matched: 404 `not_found`, or 405 with `Allow`.
 */
import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { JobQueue } from '../job-queue.types.js';
import { errorMiddleware } from './error-middleware.js';
import { requestLog } from './request-log.js';
import { routeFallback } from './route-fallback.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { statsRoutes } from './routes/stats.js';

export interface AppOptions {
  /** The engine every route talks to. */
  queue: JobQueue;
  /** Read for `maxBodyBytes` and `maxRetriesLimit`. */
  config: Readonly<Config>;
  /** Receives the request lines and the details of unexpected errors. */
  logger: Logger;
}

export function createApp(options: AppOptions): Koa {
  const { queue, config, logger } = options;
  const router = new Router();
  healthRoutes(router, { queue });
  jobRoutes(router, { queue, config });
  statsRoutes(router, { queue });

  const app = new Koa();
  app.use(requestLog(logger));
  app.use(errorMiddleware(logger));
  app.use(router.routes());
  app.use(routeFallback(router));
  // Errors Koa catches outside the middleware (e.g. a socket error while responding) go to our logger rather
  // than to Koa's default console.error.
  app.on('error', (error: unknown) => logger.error({ err: error }, 'error outside the request middleware'));
  return app;
}
