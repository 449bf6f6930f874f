import etag from '@koa/etag';
import type Router from '@koa/router';
import compress from 'koa-compress';
import conditional from 'koa-conditional-get';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { jobChart } from '../../chart/charts.js';
import { DEBUG_ASSETS, MERMAID_BUNDLE, PAGE_HTML } from '../../debug/assets.js';
import { compressedOnce } from '../../debug/compressed-once.js';
import { countableHistory, jobPath } from '../../debug/job-path.js';
import { errors } from '../../errors.js';
import { dispatchState } from './console.js';
import { isoOrNull, requireJob } from '../job-view.js';
import type { JobQueue } from '../../engine/job-queue.types.js';
import { z } from 'zod';
import { debugStatusSchema, jobPathSchema } from '../response-schemas.js';
import { documentRoute, errorReply, jobIdParams, jobNotFound, jsonReply, textReply, storageUnavailable } from '../route-docs.js';

/** Each content type the assets are served with, once: the 200 of `GET /debug/assets/{name}` lists them all. */
const assetTypes = [...new Set(Object.values(DEBUG_ASSETS).map((asset) => asset.type))];

/**
 * The debug page and what only it needs:
 * - `GET /debug`: the page (`src/debug/static/page.html`);
 * - `GET /debug/assets/:name`: its scripts, style and icon, and Mermaid's bundle from node_modules;
 * - `GET /debug/status`: `/stats` plus the supervisor's `lifecycle` and `dispatch` (running, or paused by an
 *   operator), for the supervisor chart;
 * - `GET /debug/jobs/:id/path`: the job's path on the job chart (`jobPath`), for drawing it, counted from the
 *   whole history even when the record keeps only its end (`countableHistory`), and how much of it is shown.
 * Everything is local: the page loads nothing from the internet.
 *
 * The page and its files carry an ETag (from the file's size and time) and `Cache-Control: no-cache`, so a
 * browser asks again on each open but gets a 304 without a body while the file is unchanged: Mermaid's
 * bundle is megabytes. What is sent is compressed (gzip or brotli, as the browser accepts).
 */
export function debugRoutes(router: Router, { queue }: { queue: JobQueue }): void {
  // Outermost compress, so that a 304 has no body to compress; the ETag is taken from the file, before any.
  const staticFile = [compress(), conditional(), etag()] as const;

  documentRoute(router, 'GET /debug', {
    tag: 'debug',
    summary: 'The debug page: the job chart, live.',
    responses: { '200': textReply('The page.', 'text/html; charset=utf-8') },
  });
  router.get('/debug', ...staticFile, (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = createReadStream(PAGE_HTML);
  });

  documentRoute(router, 'GET /debug/assets/:name', {
    tag: 'debug',
    summary: "The debug page's scripts, style, icon and Mermaid bundle, with an ETag, compressed.",
    requestParams: { path: z.object({ name: z.enum(Object.keys(DEBUG_ASSETS)).meta({ description: 'The file.' }) }) },
    responses: {
      '200': {
        description: 'The file, with the content type of its kind: a script, the style sheet or the icon.',
        content: Object.fromEntries(assetTypes.map((type) => [type, { schema: z.string() }])),
      },
      '404': errorReply('`not_found`: no such asset.', ['not_found']),
    },
  });
  // Compressed now, in the background, so that the first open of the console does not wait for it either.
  compressedOnce(MERMAID_BUNDLE, 'br').catch(() => {});
  router.get('/debug/assets/:name', ...staticFile, async (ctx) => {
    const asset = Object.hasOwn(DEBUG_ASSETS, ctx.params.name!) ? DEBUG_ASSETS[ctx.params.name!] : undefined;
    if (!asset) throw errors.routeNotFound(ctx.method, ctx.path);
    ctx.type = asset.type;
    ctx.set('Cache-Control', 'no-cache');
    const encoding = ctx.acceptsEncodings('br', 'gzip', 'identity');
    if (asset.path === MERMAID_BUNDLE && (encoding === 'br' || encoding === 'gzip')) {
      // Megabytes: sent as compressed once and kept (compressed-once.ts), not compressed again per response.
      const [body, stats] = await Promise.all([compressedOnce(asset.path, encoding), stat(asset.path)]);
      ctx.compress = false;
      ctx.vary('Accept-Encoding');
      ctx.set('Content-Encoding', encoding);
      // The file's own validator (size and time), as for the other files, not a hash of the bytes sent.
      ctx.set('ETag', `W/"${stats.size.toString(16)}-${stats.mtime.getTime().toString(16)}"`);
      ctx.body = body;
      return;
    }
    ctx.body = createReadStream(asset.path);
  });

  documentRoute(router, 'GET /debug/status', {
    tag: 'debug',
    summary: '/stats plus the supervisor lifecycle.',
    responses: { '200': jsonReply('The status.', debugStatusSchema), '503': storageUnavailable },
  });
  router.get('/debug/status', async (ctx) => {
    const stats = await queue.stats();
    ctx.body = { ...dispatchState(queue), ...stats };
  });

  documentRoute(router, 'GET /debug/jobs/:id/path', {
    tag: 'debug',
    summary: "A job's path on the job chart.",
    requestParams: { path: jobIdParams },
    responses: { '200': jsonReply('The path.', jobPathSchema), '404': jobNotFound, '503': storageUnavailable },
  });
  router.get('/debug/jobs/:id/path', async (ctx) => {
    const id = ctx.params.id!;
    const record = await requireJob(queue, id);
    const countable = countableHistory(record.history, record);
    ctx.body = {
      id,
      state: record.state,
      next_retry_at: isoOrNull(record.next_retry_at),
      ...jobPath(jobChart, countable.history, record.max_retries),
      history: { shown: record.history.length, total: countable.total, counted_from: countable.counted_from },
    };
  });
}
