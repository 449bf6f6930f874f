import type { Middleware } from 'koa';

/**
 * Holds an admission (`POST /jobs`, `POST /enqueue`, `POST /jobs/batch`, `POST /jobs/:id/retry`) until the
 * poll phase of the event loop that read its request is over, so that a shutdown signal that reached the
 * process before the request did is handled before the request is decided.
 *
 * libuv runs the signal handlers last in a poll phase, after every socket callback of that phase. A request is
 * read, parsed and (with the memory store) admitted within its socket callback: the end of its body and the
 * route run on process.nextTick and promise jobs, which Node runs before the next callback. So while the event
 * loop was busy (a batch, a garbage collection, a log line to a slow pipe), a request that arrived a few
 * milliseconds after SIGTERM was read in the same poll phase as the signal, and admitted (202) before the
 * signal's handler began the shutdown.
 *
 * Resuming in the check phase (`setImmediate`), which comes right after the poll phase, lets that handler run
 * first: the queue is draining (or pausing) by then, and the engine refuses the admission with 503
 * `shutting_down`. Nothing is decided here, so the error precedence is unchanged. The cost is one turn of the
 * event loop per admitting request.
 */
export const afterPendingSignals: Middleware = async (_ctx, next) => {
  await new Promise<void>((resolve) => setImmediate(resolve));
  await next();
};
