/**
 * The browser-facing headers of every response: helmet's set (through koa-helmet), and CORS only for the
 * origins CORS_ORIGINS lists.
 *
 * The Content-Security-Policy allows nothing but this service: scripts only from its own files (the debug
 * page's `page.js`, `access.js` and the Mermaid bundle under `/debug/assets/`), no inline script, no eval,
 * no frames, no plugins, no form posts. Inline *styles* are allowed: Mermaid writes a `<style>` element and
 * `style` attributes into every SVG it draws, and the charts are unreadable without them; a style cannot run
 * code.
 */
import cors from '@koa/cors';
import type { Middleware } from 'koa';
import helmet from 'koa-helmet';

const SELF = "'self'";
const NONE = "'none'";

export const CONTENT_SECURITY_POLICY = {
  'default-src': [SELF],
  'script-src': [SELF],
  'style-src': [SELF, "'unsafe-inline'"],
  // Mermaid may draw with data: images (markers); nothing else is loaded as an image.
  'img-src': [SELF, 'data:'],
  'font-src': [SELF],
  'connect-src': [SELF],
  'object-src': [NONE],
  'base-uri': [NONE],
  'form-action': [NONE],
  'frame-ancestors': [NONE],
};

/** helmet's headers, with the policy above. */
export function securityHeaders(): Middleware {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    // No Referer to other sites: a debug page's URL names job ids.
    referrerPolicy: { policy: 'no-referrer' },
    // The service speaks plain HTTP; whether a host is HTTPS-only is for the TLS proxy in front of it to say,
    // and a year-long pin sent by mistake cannot be taken back.
    strictTransportSecurity: false,
  });
}

/**
 * CORS for the listed origins only: a page from any other origin gets no CORS header, so its browser keeps
 * it from reading an answer. Tokens travel in a header, never in a cookie, so credentials stay off.
 * Returns undefined when no origin is listed: then no CORS middleware runs at all.
 */
export function corsFor(origins: readonly string[]): Middleware | undefined {
  if (origins.length === 0) return undefined;
  const allowed = new Set(origins);
  return cors({
    origin: (ctx) => (allowed.has(ctx.get('Origin')) ? ctx.get('Origin') : ''),
    allowMethods: ['GET', 'HEAD', 'POST'],
    allowHeaders: ['Authorization', 'Content-Type'],
    exposeHeaders: ['Location', 'Retry-After', 'WWW-Authenticate'],
    maxAge: 600,
  });
}
