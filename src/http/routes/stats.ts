import type Router from '@koa/router';
import type { JobQueue } from '../../engine/job-queue.types.js';

/** `GET /stats`: the queue's counters, as the engine reports them. */
export function statsRoutes(router: Router, { queue }: { queue: JobQueue }): void {
  router.get('/stats', async (ctx) => {
    ctx.body = await queue.stats();
  });
}
