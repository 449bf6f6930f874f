import type Router from '@koa/router';
import type { JobQueue } from '../../engine/job-queue.types.js';
import { statsSchema } from '../response-schemas.js';
import { documentRoute, jsonReply, storageUnavailable } from '../route-docs.js';

/** `GET /stats`: the queue's counters, as the engine reports them. */
export function statsRoutes(router: Router, { queue }: { queue: JobQueue }): void {
  documentRoute(router, 'GET /stats', {
    tag: 'operations',
    summary: "The queue's counters.",
    responses: { '200': jsonReply('The counters.', statsSchema), '503': storageUnavailable },
  });
  router.get('/stats', async (ctx) => {
    ctx.body = await queue.stats();
  });
}
