import type Router from '@koa/router';
import type { JobQueue } from '../../engine/job-queue.types.js';
import type { StorageHealth } from '../../store/storage-health.js';

/**
 * `GET /healthz`: 200 `OK` while the process can answer at all (liveness).
 * `GET /readyz`: 200 `{"status":"ready"}` while the queue accepts jobs, 503 `{"status":"draining"}` once a
 * shutdown has begun, 503 `{"status":"storage_unavailable"}` while the store's commits fail (readiness: a load
 * balancer stops sending submissions here). Draining is told first: it does not end.
 */
export function healthRoutes(router: Router, { queue, storage }: { queue: JobQueue; storage: StorageHealth }): void {
  router.get('/healthz', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'OK';
  });

  router.get('/readyz', (ctx) => {
    const status = queue.lifecycle() !== 'accepting' ? 'draining' : storage.writable ? 'ready' : 'storage_unavailable';
    ctx.status = status === 'ready' ? 200 : 503;
    ctx.body = { status };
  });
}
