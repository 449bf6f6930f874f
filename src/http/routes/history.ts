import type Router from '@koa/router';
import type { JobQueue } from '../../engine/job-queue.types.js';
import { requireJob } from '../job-view.js';
import { historySchema } from '../response-schemas.js';
import { documentRoute, jobIdParams, jobNotFound, jsonReply, storageUnavailable } from '../route-docs.js';
import { transitionView } from './events.js';

/**
 * `GET /jobs/:id/history`: `{"id","transitions":[{"type","from","to","event","at","attempt","error","delay_ms",
 * "delay_source"}]}`,
 * oldest first, the latest 50 (HISTORY_LIMIT); 404 `not_found` for an unknown id.
 */
export function historyRoutes(router: Router, { queue }: { queue: JobQueue }): void {
  documentRoute(router, 'GET /jobs/:id/history', {
    tag: 'jobs',
    summary: "A job's latest 50 transitions, oldest first.",
    requestParams: { path: jobIdParams },
    responses: { '200': jsonReply('The history.', historySchema), '404': jobNotFound, '503': storageUnavailable },
  });
  router.get('/jobs/:id/history', async (ctx) => {
    const id = ctx.params.id!;
    const record = await requireJob(queue, id);
    ctx.body = {
      id,
      transitions: record.history.map((transition) => {
        const { id: _id, ...view } = transitionView(transition);
        return view;
      }),
    };
  });
}
