/**
 * The HTTP service: a Koa app over the job queue facade. It holds no state of its own; every answer comes from
 * the `JobQueue` it is given.
 *
 * Middleware, outermost first:
 * 1. `requestLog`      one info line per request, with the final status (and the token's name);
 * 2. `requestMetrics`  `jobsvc_http_request_duration_seconds`, by method, route pattern and final status;
 * 3. `securityHeaders` CSP, X-Content-Type-Options, Referrer-Policy and the rest of helmet's set; then CORS,
 *                      only for the origins CORS_ORIGINS lists;
 * 4. `errorMiddleware` the one place that renders errors as `{"error":{"code","message","details"}}`;
 *    then `hostCheck`: the `Host` a request names, against DNS rebinding (`request-guards.ts`);
 * 5. `admissionRejections` counts refused submissions and retries in `jobsvc_jobs_rejected_total`;
 * 6. the router        first `authorize` (the access tokens' scopes, `access.ts`), then `refuseFormWrites` (a
 *                      state-changing request a cross-site form could send), then health, jobs, operations
 *                      (cancel, retry), the console's (bulk actions, dispatch pause, series, failures), stats,
 *                      metrics, OpenAPI, history, events (SSE), machines and debug-page routes;
 * 7. `routeFallback`   reached only when no route matched: 404 `not_found`, or 405 with `Allow`.
 */
import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { JobQueue } from '../engine/job-queue.types.js';
import { createMetrics, type ServiceMetrics } from '../metrics.js';
import { ALWAYS_WRITABLE, type StorageHealth } from '../store/storage-health.js';
import type { SharedStore } from '../store/job-store.js';
import { authorize } from './access.js';
import { clientErrorLogger, isClientProtocolError } from './client-errors.js';
import { createEventHub, type EventHub, type EventHubOptions } from './event-hub.js';
import { errorMiddleware } from './error-middleware.js';
import { admissionRejections, countBatchItemRejection, requestMetrics } from './request-metrics.js';
import { requestLog } from './request-log.js';
import { hostCheck, refuseFormWrites } from './request-guards.js';
import { routeFallback } from './route-fallback.js';
import { corsFor, securityHeaders } from './security-headers.js';
import { createThroughputSeries, type ThroughputSeries } from '../console/throughput-series.js';
import { consoleRoutes } from './routes/console.js';
import { debugRoutes } from './routes/debug.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { historyRoutes } from './routes/history.js';
import { jobRoutes } from './routes/jobs.js';
import { machineRoutes } from './routes/machines.js';
import { metricsRoutes } from './routes/metrics.js';
import { openapiRoutes } from './routes/openapi.js';
import { operationRoutes } from './routes/operations.js';
import { statsRoutes } from './routes/stats.js';
import { typeRoutes } from './routes/types.js';
import { scheduleRoutes } from './routes/schedules.js';
import { createSchedules, type Schedules } from '../engine/schedules.js';
import { createMemoryStore } from '../store/memory-store.js';

export interface AppOptions {
  /** The engine every route talks to. */
  queue: JobQueue;
  /** Read for `maxBodyBytes` and `maxRetriesLimit`. */
  config: Readonly<Config>;
  /** Receives the request lines and the details of unexpected errors. */
  logger: Logger;
  /** The `GET /events` heartbeat and buffer bounds; the defaults suit production. The cap is MAX_EVENT_STREAMS. */
  events?: Omit<EventHubOptions, 'maxStreams'>;
  /** The Prometheus metrics. Default: new ones over `queue`, in a registry of this app's own. */
  metrics?: ServiceMetrics;
  /** How long a cancel waits for a running attempt to stop, in ms. Default 1000; tests shorten it. */
  cancelWaitMs?: number;
  /** The clock of `GET /stats/series` (epoch ms). Default Date.now; tests pass the queue's. */
  now?: () => number;
  /** The cron schedules. Default: schedules over `queue` kept in memory only (a library's, or a test's). */
  schedules?: Schedules;
  /**
   * Logs the client protocol errors Koa reports (a body cut off, a bad chunk); the server's `clientError`s go to
   * the same one, so that one rate limit covers both. Default: a `clientErrorLogger` of `logger`.
   */
  onClientError?: (error: unknown, where: string) => void;
  /** Whether the store can write, for `/readyz`. Default: always (a store whose writes cannot fail). */
  storage?: StorageHealth;
  /** Where RATE_LIMIT_PER_S counts, when the store is shared: the cluster's counts. Default: this process. */
  rateLimiter?: SharedStore['rateLimiter'];
}

const eventHubs = new WeakMap<Koa, EventHub>();
const routers = new WeakMap<Koa, Router>();
const seriesOfApp = new WeakMap<Koa, ThroughputSeries>();

/** The router of an app made by `createApp`: what the OpenAPI test compares the document with. */
export function appRouter(app: Koa): Router | undefined {
  return routers.get(app);
}

/**
 * Ends every open `GET /events` stream of `app`. Server-sent event streams never end by themselves, so a
 * graceful shutdown calls this right after `server.close()`; otherwise the server waits for them.
 */
export function closeEventStreams(app: Koa): void {
  eventHubs.get(app)?.closeAll();
  // The throughput series listens to the queue; a closed service has nothing more to count.
  seriesOfApp.get(app)?.stop();
}

export function createApp(options: AppOptions): Koa {
  const { queue, config, logger } = options;
  const router = new Router();
  // Before every route, so that it runs first for each of them.
  router.use(authorize(router, config.access));
  router.use(refuseFormWrites);
  healthRoutes(router, { queue, storage: options.storage ?? ALWAYS_WRITABLE });
  const metrics = options.metrics ?? createMetrics(queue);
  jobRoutes(router, {
    queue,
    config,
    onBatchItemRefused: (error) => countBatchItemRejection(metrics, error),
    rateLimiter: options.rateLimiter,
  });
  operationRoutes(router, { queue, cancelWaitMs: options.cancelWaitMs });
  const series = createThroughputSeries(queue, options.now);
  consoleRoutes(router, { queue, series, maxBodyBytes: config.maxBodyBytes });
  statsRoutes(router, { queue });
  typeRoutes(router, { queue, defaultType: queue.defaultType });
  metricsRoutes(router, { metrics });
  openapiRoutes(router);
  historyRoutes(router, { queue });
  const schedules = options.schedules ?? createSchedules({ queue, store: createMemoryStore({ retention: 0 }) });
  scheduleRoutes(router, { schedules, maxBodyBytes: config.maxBodyBytes, maxRetriesLimit: config.maxRetriesLimit });
  machineRoutes(router);
  debugRoutes(router, { queue });
  const hub = createEventHub(queue, { maxStreams: config.http.maxEventStreams, ...options.events });
  eventRoutes(router, { hub });

  const app = new Koa();
  eventHubs.set(app, hub);
  seriesOfApp.set(app, series);
  routers.set(app, router);
  app.use(requestLog(logger, config.logPayloads));
  app.use(requestMetrics(metrics));
  app.use(securityHeaders());
  const cors = corsFor(config.corsOrigins);
  if (cors) app.use(cors);
  app.use(errorMiddleware(logger));
  const checkHost = hostCheck(config);
  if (checkHost) app.use(checkHost);
  app.use(admissionRejections(metrics));
  app.use(router.routes());
  app.use(routeFallback(router));
  // Errors Koa catches outside the middleware (e.g. a socket error while responding) go to our logger rather
  // than to Koa's default console.error; those a client caused are not the service's errors.
  const onClientError = options.onClientError ?? clientErrorLogger(logger);
  app.on('error', (error: unknown) => {
    if (isClientProtocolError(error)) onClientError(error, 'request');
    else logger.error({ err: error }, 'error outside the request middleware');
  });
  return app;
}
