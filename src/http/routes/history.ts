import type Router from '@koa/router';
import type { JobQueue } from '../../engine/job-queue.types.js';
import { requireJob } from '../job-view.js';
import { transitionView } from './events.js';

/**
 * `GET /jobs/:id/history`: `{"id","transitions":[{"type","from","to","event","at","attempt","error","delay_ms",
 * "delay_source"}]}`,
 * oldest first, the latest 50 (HISTORY_LIMIT); 404 `not_found` for an unknown id.
 */
export function historyRoutes(router: Router, { queue }: { queue: JobQueue }): void {
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
