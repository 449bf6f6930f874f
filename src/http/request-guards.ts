/**
 * Two guards against a browser being used to reach the service on a user's behalf:
 *
 * - **Cross-site writes.** A plain HTML form on any site can POST to the service, with a body of
 *   `text/plain`, `application/x-www-form-urlencoded` or `multipart/form-data` and no header of its own. So a
 *   state-changing request must carry `Content-Type: application/json` or an `X-Requested-With` header, which a
 *   form cannot send and a cross-origin script can send only after a CORS preflight the service refuses
 *   (unless CORS_ORIGINS lists that origin). Otherwise: 415 `unsupported_media_type`. This covers cancel and
 *   retry too, which read no body.
 * - **DNS rebinding.** A hostile page can make its own name resolve to 127.0.0.1 and so reach a service on
 *   loopback with the browser's same-origin blessing, but its requests still carry its own name in `Host`. So
 *   when ALLOWED_HOSTS is set, `Host` must name one of them; when the service listens on loopback, a loopback
 *   name (`localhost`, 127.x.x.x, `::1`) is accepted too. Otherwise: 421 `host_not_allowed`. The health probes
 *   stay answerable under any name: load balancers probe by address, and they tell only up or down.
 */
import type { Middleware } from 'koa';
import { isLoopback, type Config } from '../config.js';
import { errors } from '../errors.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const PROBES = new Set(['/healthz', '/readyz']);

/** A router-level middleware: runs for matched routes only, after `authorize`, so 401 and 403 come first. */
export const refuseFormWrites: Middleware = (ctx, next) => {
  if (SAFE_METHODS.has(ctx.method)) return next();
  const mediaType = ctx.get('Content-Type').split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'application/json' || ctx.get('X-Requested-With') !== '') return next();
  // A body of another type is refused as a route that parses JSON would refuse it.
  const contentType = ctx.get('Content-Type');
  throw contentType ? errors.unsupportedMediaType(contentType) : errors.formWriteRefused(ctx.method);
};

/** The host name of a `Host` header, without its port or IPv6 brackets, lower-cased and without a final dot. */
export function hostName(header: string): string {
  const name = header.startsWith('[') ? header.slice(1, header.indexOf(']')) : header.split(':')[0]!;
  return name.toLowerCase().replace(/\.$/, '');
}

/** The `Host` check of `config`, or undefined when nothing is to be checked (no ALLOWED_HOSTS, not on loopback). */
export function hostCheck(config: Pick<Config, 'host' | 'allowedHosts'>): Middleware | undefined {
  const onLoopback = isLoopback(config.host);
  if (config.allowedHosts.length === 0 && !onLoopback) return undefined;
  const allowed = new Set(config.allowedHosts);
  const described = [...config.allowedHosts, ...(onLoopback ? ['a loopback name (localhost, 127.0.0.1, ::1)'] : [])];
  return (ctx, next) => {
    if (PROBES.has(ctx.path)) return next();
    const name = hostName(ctx.get('Host'));
    if (allowed.has(name) || (onLoopback && name !== '' && isLoopback(name))) return next();
    throw errors.hostNotAllowed(name, described);
  };
}
