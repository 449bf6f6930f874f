import type Router from '@koa/router';
import type { JobQueue } from '../../engine/job-queue.types.js';
import { typesSchema } from '../response-schemas.js';
import { documentRoute, jsonReply, storageUnavailable } from '../route-docs.js';

/**
 * `GET /types`: `{"types":[{"name","kind","source","options","counts"}],"default_type"}`, sorted by name:
 * where each type runs, the options its jobs get (its own over the service-wide ones), and its jobs per state.
 */
export function typeRoutes(router: Router, { queue, defaultType }: { queue: JobQueue; defaultType: string }): void {
  documentRoute(router, 'GET /types', {
    tag: 'operations',
    summary: 'The job types: where each runs, its effective options, and its jobs per state.',
    responses: { '200': jsonReply('The types, sorted by name.', typesSchema), '503': storageUnavailable },
  });
  router.get('/types', async (ctx) => {
    ctx.body = { types: await queue.types(), default_type: defaultType };
  });
}
