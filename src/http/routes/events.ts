/**
 * `GET /events`: server-sent events of job transitions, for the debug page and for tools.
 *
 * - Each transition is one message: `event: transition` and `data: {"id","from","to","event","at","attempt",
 *   "error","delay_ms"}` with `at` in ISO-8601. A submission is a move from `null` to `queued`.
 * - `?job=<id>` keeps one job's transitions, `?state=<state>` those entering that state (their `to`). An unknown
 *   state is a 400 `validation_failed`, as on `GET /jobs`.
 * - A comment line (`: heartbeat`) goes out every `heartbeatMs`, so that proxies keep the connection open and
 *   clients notice a dead one.
 * - The fan-out, the cap on open streams (503 `too_many_streams`) and the per-client and global bounds on
 *   unsent bytes are the event hub's (`event-hub.ts`).
 * - `HEAD /events` answers the stream's headers and ends at once.
 *
 * The streams bypass Koa's response handling (`ctx.respond = false`) and write to the socket directly. A
 * stream never ends by itself, so a server that closes must end them: `EventHub.closeAll()`.
 */
import type Router from '@koa/router';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { JOB_STATES } from '../../engine/job-record.js';
import type { EventHub } from '../event-hub.js';
import { jobIdSchema, objectIssue } from '../schemas.js';
import { validate } from '../validate.js';
import { documentRoute, errorReply, retryAfterHeader, textReply } from '../route-docs.js';

export { progressView, transitionView } from '../event-hub.js';

const eventsQuerySchema = z.strictObject(
  {
    job: jobIdSchema.optional(),
    state: z.enum(JOB_STATES, { error: `Must be one of ${JOB_STATES.join(', ')}.` }).optional(),
  },
  { error: objectIssue(['job', 'state']) },
);

const STREAM_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  // Tells nginx not to buffer the stream.
  'X-Accel-Buffering': 'no',
};

const CONNECTED = Buffer.from(': connected\n\n');

export function eventRoutes(router: Router, { hub }: { hub: EventHub }): void {
  documentRoute(router, 'GET /events', {
    tag: 'debug',
    summary: 'Job transitions and progress, as server-sent events.',
    description:
      'Each transition is `event: transition` with a Transition as its data; the progress running attempts ' +
      'report is `event: progress` with `{"id","type","progress","at"}` (at most 10/s per job). The stream never ' +
      'ends by itself; a comment line is sent every 15 s. HEAD answers the headers and ends.',
    requestParams: { query: eventsQuerySchema },
    responses: {
      '200': textReply('The stream.', 'text/event-stream; charset=utf-8'),
      '400': errorReply('`validation_failed`: a bad job or state.', ['validation_failed']),
      '503': errorReply(
        '`too_many_streams`: MAX_EVENT_STREAMS streams are open already; retry after `Retry-After`.',
        ['too_many_streams'],
        z.object({ 'Retry-After': retryAfterHeader }),
      ),
    },
  });
  router.get('/events', (ctx) => {
    const filter = validate(eventsQuerySchema, ctx.query, 'query');
    if (ctx.method === 'HEAD') {
      // What a GET would start with; there is no stream to hold open.
      ctx.set(STREAM_HEADERS);
      ctx.status = 200;
      return;
    }
    const res: ServerResponse = ctx.res;
    // Throws too_many_streams before anything is sent, so the error middleware can still answer.
    const forget = hub.add(res, filter);
    res.on('close', forget);
    // For the request log; Koa itself sends nothing from here on.
    ctx.status = 200;
    ctx.respond = false;
    res.writeHead(200, { ...STREAM_HEADERS, Connection: 'keep-alive' });
    // Sent at once, so that the client sees the stream open before the first transition.
    res.write(CONNECTED);
  });
}
