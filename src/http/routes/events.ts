/**
 * `GET /events`: server-sent events of job transitions, for the debug page and for tools.
 *
 * - Each transition is one message: `event: transition` and `data: {"id","from","to","event","at","attempt",
 *   "error","delay_ms"}` with `at` in ISO-8601. A submission is a move from `null` to `queued`.
 * - `?job=<id>` keeps one job's transitions, `?state=<state>` those entering that state (their `to`). An unknown
 *   state is a 400 `validation_failed`, as on `GET /jobs`.
 * - A comment line (`: heartbeat`) goes out every `heartbeatMs`, so that proxies keep the connection open and
 *   clients notice a dead one.
 * - Each client has a bounded buffer: when the bytes waiting to be sent to it pass `maxBufferBytes`, it is
 *   disconnected (its socket destroyed) rather than buffered without limit. An `EventSource` reconnects by
 *   itself, and can reload the state it missed from `GET /jobs`.
 *
 * The streams bypass Koa's response handling (`ctx.respond = false`) and write to the socket directly. A
 * stream never ends by itself, so a server that closes must end them: `EventStreams.closeAll()`.
 */
import type Router from '@koa/router';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { JOB_STATES, type Transition } from '../../engine/job-record.js';
import type { JobQueue, ProgressEvent } from '../../engine/job-queue.types.js';
import { jobIdSchema } from '../schemas.js';
import { validate } from '../validate.js';
import { iso } from '../job-view.js';
import { documentRoute, errorReply, textReply } from '../route-docs.js';

/** How often a heartbeat comment is sent, in ms: 15 s. */
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** Bytes that may wait for a client before it is disconnected: 1 MiB (a few thousand transitions). */
export const DEFAULT_MAX_BUFFER_BYTES = 1024 * 1024;

export interface EventStreamOptions {
  /** Interval of the heartbeat comment, in ms. Default 15 000. */
  heartbeatMs?: number;
  /** Unsent bytes a client may accumulate before it is disconnected. Default 1 MiB. */
  maxBufferBytes?: number;
}

/** The open streams of one app, so that a shutdown can end them. */
export interface EventStreams {
  /** Open streams right now. */
  readonly size: number;
  /** Ends every open stream (each client sees the end of its response). */
  closeAll(): void;
  /** Registers a stream's closer; returns the function that forgets it. */
  add(close: () => void): () => void;
}

export function createEventStreams(): EventStreams {
  const open = new Set<() => void>();
  return {
    get size() {
      return open.size;
    },
    closeAll() {
      for (const close of [...open]) close();
    },
    add(close) {
      open.add(close);
      return () => open.delete(close);
    },
  };
}

const eventsQuerySchema = z.strictObject(
  {
    job: jobIdSchema.optional(),
    state: z.enum(JOB_STATES, { error: `Must be one of ${JOB_STATES.join(', ')}.` }).optional(),
  },
  {
    error: (issue: { code?: string }) =>
      issue.code === 'unrecognized_keys' ? 'Unknown field; allowed: job, state.' : 'Must be a JSON object.',
  },
);

/** A transition as the API shows it: `at` in ISO-8601 UTC. */
export function transitionView(t: Transition) {
  return {
    id: t.id,
    type: t.type,
    from: t.from,
    to: t.to,
    event: t.event,
    at: iso(t.at),
    attempt: t.attempt,
    error: t.error,
    delay_ms: t.delay_ms,
    delay_source: t.delay_source,
  };
}

/** A progress report as the API shows it (`event: progress`). */
export function progressView(p: ProgressEvent) {
  return { id: p.id, type: p.type, progress: p.progress, at: iso(p.at) };
}

export interface EventRoutesDeps extends EventStreamOptions {
  queue: JobQueue;
  streams: EventStreams;
}

export function eventRoutes(router: Router, deps: EventRoutesDeps): void {
  const { queue, streams } = deps;
  const heartbeatMs = deps.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const maxBufferBytes = deps.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;

  documentRoute(router, 'GET /events', {
    tag: 'debug',
    summary: 'Job transitions and progress, as server-sent events.',
    description:
      'Each transition is `event: transition` with a Transition as its data; the progress running attempts ' +
      'report is `event: progress` with `{"id","type","progress","at"}` (at most 10/s per job). The stream never ' +
      'ends by itself; a comment line is sent every 15 s.',
    requestParams: { query: eventsQuerySchema },
    responses: {
      '200': textReply('The stream.', 'text/event-stream; charset=utf-8'),
      '400': errorReply('`validation_failed`: a bad job or state.', ['validation_failed']),
    },
  });
  router.get('/events', (ctx) => {
    const filter = validate(eventsQuerySchema, ctx.query, 'query');
    // For the request log; Koa itself sends nothing from here on.
    ctx.status = 200;
    ctx.respond = false;
    const res: ServerResponse = ctx.res;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // Tells nginx not to buffer the stream.
      'X-Accel-Buffering': 'no',
    });

    let closed = false;
    const send = (chunk: string) => {
      if (closed) return;
      // writableLength counts what the socket has not taken yet: past the limit, the client is not keeping up.
      if (res.writableLength + Buffer.byteLength(chunk) > maxBufferBytes) {
        cleanUp();
        res.destroy();
        return;
      }
      res.write(chunk);
    };
    const unsubscribe = queue.on('transition', (transition) => {
      if (filter.job !== undefined && transition.id !== filter.job) return;
      if (filter.state !== undefined && transition.to !== filter.state) return;
      send(`event: transition\ndata: ${JSON.stringify(transitionView(transition))}\n\n`);
    });
    // Progress comes only from running jobs, so a filter on any other state leaves it out.
    const unsubscribeProgress = queue.on('progress', (progress) => {
      if (filter.job !== undefined && progress.id !== filter.job) return;
      if (filter.state !== undefined && filter.state !== 'running') return;
      send(`event: progress\ndata: ${JSON.stringify(progressView(progress))}\n\n`);
    });
    const heartbeat = setInterval(() => send(': heartbeat\n\n'), heartbeatMs);
    const forget = streams.add(() => {
      cleanUp();
      res.end();
    });
    function cleanUp() {
      if (closed) return;
      closed = true;
      unsubscribe();
      unsubscribeProgress();
      clearInterval(heartbeat);
      forget();
    }
    res.on('close', cleanUp);
    // Sent at once, so that the client sees the stream open before the first transition.
    res.write(': connected\n\n');
  });
}
