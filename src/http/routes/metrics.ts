import type Router from '@koa/router';
import type { ServiceMetrics } from '../../metrics.js';
import { documentRoute, textReply } from '../route-docs.js';

/** `GET /metrics`: the Prometheus text format (0.0.4): the process metrics and the service's (`src/metrics.ts`). */
export function metricsRoutes(router: Router, { metrics }: { metrics: ServiceMetrics }): void {
  documentRoute(router, 'GET /metrics', {
    tag: 'operations',
    summary: 'Prometheus metrics, text format 0.0.4.',
    responses: { '200': textReply('The metrics.', metrics.contentType) },
  });
  router.get('/metrics', async (ctx) => {
    const text = await metrics.exposition();
    ctx.type = metrics.contentType;
    ctx.body = text;
  });
}
