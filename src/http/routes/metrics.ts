import type Router from '@koa/router';
import type { ServiceMetrics } from '../../metrics.js';

/** `GET /metrics`: the Prometheus text format (0.0.4): the process metrics and the service's (`src/metrics.ts`). */
export function metricsRoutes(router: Router, { metrics }: { metrics: ServiceMetrics }): void {
  router.get('/metrics', async (ctx) => {
    const text = await metrics.exposition();
    ctx.type = metrics.contentType;
    ctx.body = text;
  });
}
