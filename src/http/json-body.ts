import type { Context, Next } from 'koa';
import bodyParser from 'koa-bodyparser';
import { errors } from '../errors.js';

/**
 * Parses a JSON request body with koa-bodyparser, in the order of the error precedence: 415 when the
 * Content-Type is not `application/json` (parameters such as a charset are accepted), 413 when the body is
 * larger than `maxBytes`, then 400 `invalid_json`. Any JSON value parses; the schema decides what is allowed.
 */
export function jsonBody(maxBytes: number) {
  const parse = bodyParser({
    enableTypes: ['json'],
    jsonLimit: `${maxBytes}b`,
    strict: false,
    onerror: (error: Error & { status?: number }) => {
      if (error.status === 413) throw errors.payloadTooLarge(maxBytes);
      if (error.status === 415) throw errors.unsupportedMediaType('a charset other than UTF-8');
      throw errors.invalidJson(error.message);
    },
  });
  return async (ctx: Context, next: Next) => {
    const contentType = ctx.get('Content-Type');
    if (contentType.split(';')[0]!.trim().toLowerCase() !== 'application/json') {
      throw errors.unsupportedMediaType(contentType || undefined);
    }
    await parse(ctx, async () => {
      // koa-bodyparser turns an empty body into '' rather than failing; for us it is not JSON.
      if ((ctx.request.rawBody ?? '').trim() === '') throw errors.invalidJson('the body is empty');
      await next();
    });
  };
}
