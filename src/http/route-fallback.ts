import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { errors } from '../errors.js';

/**
 * The end of the chain, reached only when no route matched both the path and the method: a known path answers
 * 405 `method_not_allowed` with an `Allow` header listing its methods, anything else 404 `not_found`.
 * (@koa/router's `allowedMethods` cannot do this with our error body: its throwing mode drops `Allow`.)
 */
export function routeFallback(router: Router): Middleware {
  return (ctx) => {
    const allowed = new Set<string>();
    for (const layer of router.match(ctx.path, ctx.method).path) {
      for (const method of layer.methods) allowed.add(method);
    }
    if (allowed.size === 0) throw errors.routeNotFound(ctx.method, ctx.path);
    throw errors.methodNotAllowed(ctx.method, ctx.path, [...allowed].sort());
  };
}
