import type Router from '@koa/router';
import { z } from 'zod';
import type { JobQueue } from '../../engine/job-queue.types.js';
import { readinessSchema } from '../response-schemas.js';
import { documentRoute, jsonReply, textReply } from '../route-docs.js';

/**
 * `GET /healthz`: 200 `OK` while the process can answer at all (liveness).
 * `GET /readyz`: 200 `{"status":"ready"}` while the queue accepts jobs, 503 `{"status":"draining"}` once a
 * shutdown has begun (readiness: a load balancer stops sending submissions here).
 */
export function healthRoutes(router: Router, { queue }: { queue: JobQueue }): void {
  documentRoute(router, 'GET /healthz', {
    tag: 'health',
    summary: 'Liveness: 200 while the process answers.',
    responses: { '200': textReply('OK', undefined, z.literal('OK')) },
  });
  router.get('/healthz', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'OK';
  });

  documentRoute(router, 'GET /readyz', {
    tag: 'health',
    summary: 'Readiness: 503 once a shutdown has begun.',
    responses: { '200': jsonReply('Accepting jobs.', readinessSchema), '503': jsonReply('Draining.', readinessSchema) },
  });
  router.get('/readyz', (ctx) => {
    const ready = queue.lifecycle() === 'accepting';
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'draining' };
  });
}
