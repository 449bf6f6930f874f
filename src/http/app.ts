/**
 * The HTTP service: a Koa app over the job queue facade. It holds no state of its own; every answer comes from
 * the `JobQueue` it is given.
 *
 * Middleware, outermost first:
 * 1. `requestLog`      one info line per request, with the final status;
 * 2. `errorMiddleware` the one place that renders errors as `{"error":{"code","message","details"}}`;
 * 3. the router        health, jobs, stats, history, events (SSE), machines and debug-page routes;
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
import { debugRoutes } from './routes/debug.js';
import { createEventStreams, eventRoutes, type EventStreamOptions, type EventStreams } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { historyRoutes } from './routes/history.js';
import { jobRoutes } from './routes/jobs.js';
import { machineRoutes } from './routes/machines.js';
import { statsRoutes } from './routes/stats.js';

export interface AppOptions {
  /** The engine every route talks to. */
  queue: JobQueue;
  /** Read for `maxBodyBytes` and `maxRetriesLimit`. */
  config: Readonly<Config>;
  /** Receives the request lines and the details of unexpected errors. */
  logger: Logger;
  /** The `GET /events` heartbeat and per-client buffer limit; the defaults suit production. */
  events?: EventStreamOptions;
}

const eventStreams = new WeakMap<Koa, EventStreams>();

/**
 * Ends every open `GET /events` stream of `app`. Server-sent event streams never end by themselves, so a
 * graceful shutdown calls this right after `server.close()`; otherwise the server waits for them.
 */
export function closeEventStreams(app: Koa): void {
  eventStreams.get(app)?.closeAll();
}

export function createApp(options: AppOptions): Koa {
  const { queue, config, logger } = options;
  const router = new Router();
  healthRoutes(router, { queue });
  jobRoutes(router, { queue, config });
  statsRoutes(router, { queue });
  historyRoutes(router, { queue });
  machineRoutes(router);
  debugRoutes(router, { queue });
  const streams = createEventStreams();
  eventRoutes(router, { queue, streams, ...options.events });

  const app = new Koa();
  eventStreams.set(app, streams);
  app.use(requestLog(logger));
  app.use(errorMiddleware(logger));
  app.use(router.routes());
  app.use(routeFallback(router));
  // Errors Koa catches outside the middleware (e.g. a socket error while responding) go to our logger rather
  // than to Koa's default console.error.
  app.on('error', (error: unknown) => logger.error({ err: error }, 'error outside the request middleware'));
  return app;
}
