import type Router from '@koa/router';
import type { JobQueue } from '../../engine/job-queue.types.js';

/**
 * `GET /types`: `{"types":[{"name","kind","source","options","counts"}],"default_type"}`, sorted by name:
 * where each type runs, the options its jobs get (its own over the service-wide ones), and its jobs per state.
 */
export function typeRoutes(router: Router, { queue, defaultType }: { queue: JobQueue; defaultType: string }): void {
  router.get('/types', async (ctx) => {
    ctx.body = { types: await queue.types(), default_type: defaultType };
  });
}
