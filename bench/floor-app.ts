/**
 * The floor of the HTTP submit benchmark: the least a Koa 3 service can do for `POST /jobs` — @koa/router,
 * the service's own JSON body reader and zod schema, storing each submission in a Map. The service is measured
 * against it; what the service spends beyond it is the engine plus the service's own middleware.
 *
 * Run: `PORT=8081 node --import tsx bench/floor-app.ts`.
 */
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import Koa from 'koa';
import { jsonBody } from '../src/http/json-body.js';
import { submissionSchema } from '../src/http/schemas.js';

const schema = submissionSchema(20);
const jobs = new Map<string, unknown>();

const router = new Router();
router.post('/jobs', jsonBody(65_536), (ctx) => {
  const parsed = schema.safeParse(ctx.request.body);
  if (!parsed.success) {
    ctx.status = 400;
    ctx.body = { error: { code: 'validation_failed', message: parsed.error.message } };
    return;
  }
  const id = parsed.data.id ?? randomUUID();
  jobs.set(id, parsed.data);
  ctx.status = 202;
  ctx.set('Location', `/jobs/${encodeURIComponent(id)}`);
  ctx.body = { status: 'queued', id };
});

const app = new Koa();
app.use(router.routes());
app.listen(Number(process.env.PORT ?? 8081), '127.0.0.1');
