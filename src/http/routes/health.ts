import type Router from '@koa/router';
import { z } from 'zod';
import type { JobQueue } from '../../engine/job-queue.types.js';
import { readinessSchema } from '../response-schemas.js';
import { documentRoute, jsonReply, textReply } from '../route-docs.js';
import type { StorageHealth } from '../../store/storage-health.js';

/**
 * `GET /healthz`: 200 `OK` while the process can answer at all (liveness).
 * `GET /readyz`: 200 `{"status":"ready"}` while the queue accepts jobs, 503 `{"status":"draining"}` once a
 * shutdown has begun, 503 `{"status":"storage_unavailable"}` while the store's commits fail (readiness: a load
 * balancer stops sending submissions here). Draining is told first: it does not end.
 */
export function healthRoutes(router: Router, { queue, storage }: { queue: JobQueue; storage: StorageHealth }): void {
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
    summary: 'Readiness: 503 once a shutdown has begun, or while the job store cannot write.',
    responses: {
      '200': jsonReply('Accepting jobs.', readinessSchema),
      '503': jsonReply('`draining`: a shutdown has begun; `storage_unavailable`: the store cannot write now.', readinessSchema),
    },
  });
  router.get('/readyz', (ctx) => {
    const status = queue.lifecycle() !== 'accepting' ? 'draining' : storage.writable ? 'ready' : 'storage_unavailable';
    ctx.status = status === 'ready' ? 200 : 503;
    ctx.body = { status };
  });
}
