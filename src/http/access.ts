/**
 * Who may call which route. Every route's decision is in ROUTE_SCOPES, keyed as the router writes the route
 * (`METHOD /pattern`), so the decisions can be read in one place; a test drives every route of the router's own
 * table through it, so a route added without a decision fails that test.
 *
 * With no token configured nothing is checked: the service answers as it did before tokens existed, and the
 * config keeps it on loopback unless ALLOW_UNAUTHENTICATED=true (`src/config.ts`).
 *
 * With tokens, a request to a route that is not `open` needs `Authorization: Bearer <token>`:
 * - no token, or one the service does not know: 401 `unauthorized` with `WWW-Authenticate: Bearer`;
 * - a known token without the route's scope: 403 `forbidden`, naming the scope.
 * The token's name goes to the request log (`ctx.state.token`); the token itself goes nowhere.
 * A request that matches no route is not checked here: its 404 or 405 tells nothing a token would protect.
 */
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type { Config } from '../config.js';
import { errors } from '../errors.js';
import { tokenMatcher, type Scope } from '../tokens.js';

/** A route anyone may call, token or not. */
export const OPEN = 'open';
export type Decision = Scope | typeof OPEN;

/** The scope each route needs, by `METHOD /pattern`. A HEAD request is decided as the GET of its path. */
export const ROUTE_SCOPES: Readonly<Record<string, Decision>> = {
  // Probes of load balancers and orchestrators, which hold no token; they tell only up or down.
  'GET /healthz': OPEN,
  'GET /readyz': OPEN,

  'POST /jobs': 'submit',
  'POST /enqueue': 'submit',
  'POST /jobs/batch': 'submit',

  'GET /jobs': 'read',
  'GET /jobs/:id': 'read',
  'GET /stats': 'read',
  'GET /stats/series': 'read',
  'GET /stats/failures': 'read',
  'GET /types': 'read',
  'GET /openapi.json': 'read',

  'POST /jobs/:id/cancel': 'operate',
  'POST /jobs/:id/retry': 'operate',
  'POST /jobs/retry-all': 'operate',
  'POST /jobs/cancel-all': 'operate',
  'POST /admin/pause': 'operate',
  'POST /admin/resume': 'operate',

  'GET /schedules': 'read',
  'GET /schedules/:name': 'read',
  'PUT /schedules/:name': 'operate',
  'POST /schedules/:name/pause': 'operate',
  'POST /schedules/:name/resume': 'operate',
  'DELETE /schedules/:name': 'operate',

  'GET /jobs/:id/history': 'debug',
  'GET /events': 'debug',
  'GET /machines/job': 'debug',
  'GET /machines/job.mmd': 'debug',
  'GET /machines/supervisor': 'debug',
  'GET /machines/supervisor.mmd': 'debug',
  'GET /machines/schedule': 'debug',
  'GET /machines/schedule.mmd': 'debug',
  // The console's page and scripts are static files with no data in them, and a browser cannot send a header
  // when it opens a page: they stay open so that the page can ask for the token. Every request the page
  // then makes for data needs the token (the debug scope, and read for the job list).
  'GET /debug': OPEN,
  'GET /debug/assets/:name': OPEN,
  'GET /debug/status': 'debug',
  'GET /debug/jobs/:id/path': 'debug',

  'GET /metrics': 'metrics',
};

/** The table's key for a route: `GET /jobs/:id`; HEAD is decided as GET. */
export const routeKey = (method: string, pattern: string): string =>
  `${method === 'HEAD' ? 'GET' : method} ${pattern}`;

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The router-level middleware that applies ROUTE_SCOPES. Registered with `router.use` before the routes, so it
 * runs only for a request that matched a route, after the router has set the route pattern the metrics label
 * with. `decisions` is for tests.
 */
export function authorize(
  router: Router,
  access: Config['access'],
  decisions: Readonly<Record<string, Decision>> = ROUTE_SCOPES,
): Middleware {
  if (access.tokens.length === 0) return (_ctx, next) => next();
  const identify = tokenMatcher(access.tokens);
  return (ctx, next) => {
    // Every route layer that will run for this request; the router may run more than one.
    const layers = router.match(ctx.path, ctx.method).pathAndMethod.filter((layer) => layer.methods.length > 0);
    const needed = layers.map((layer) => decisions[routeKey(ctx.method, String(layer.path))]);
    if (needed.every((decision) => decision === OPEN)) return next();

    const header = ctx.get('Authorization');
    const presented = BEARER.exec(header)?.[1];
    const token = presented === undefined ? undefined : identify(presented);
    if (!token) throw errors.unauthorized(header !== '');
    ctx.state.token = token.name;
    for (const scope of needed) {
      if (scope === undefined) throw errors.noScopeDecided(ctx.method, ctx.path);
      if (scope !== OPEN && !token.scopes.includes(scope)) throw errors.forbidden(token.name, scope, ctx.method, ctx.path);
    }
    return next();
  };
}
