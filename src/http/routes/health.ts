import type Router from '@koa/router';
import type { JobQueue } from '../../engine/job-queue.types.js';

/**
 * `GET /healthz`: 200 `OK` while the process can answer at all (liveness).
 * `GET /readyz`: 200 `{"status":"ready"}` while the queue accepts jobs, 503 `{"status":"draining"}` once a
 * shutdown has begun (readiness: a load balancer stops sending submissions here).
 */
export function healthRoutes(router: Router, { queue }: { queue: JobQueue }): void {
  router.get('/healthz', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'OK';
  });

  router.get('/readyz', (ctx) => {
    const ready = queue.lifecycle() === 'accepting';
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'draining' };
  });
}
